// A retrieval gallery like the paper's Fig. 5, drawn with OpenCV: for each query caption a row of
// its top-ranked clips, each shown by its middle frame, the correct clip framed green and a wrong
// first choice framed red, the caption printed above. Torch-free.
#pragma once
#include <string>
#include <vector>

#include "cma/data/loader.h"

namespace cma::data {

struct GalleryRow {
  std::string caption;
  std::vector<std::string> videos;  // best first
  std::vector<bool> correct;        // per entry of `videos`: is it the caption's clip
};

// The picture's geometry, for readers of the PNG (tests): row r's clip k is a kThumb-pixel square
// at x = kMargin + k * kCell + kBorder, y = kMargin + r * kRowHeight + kCaptionBand + kBorder,
// inside a kBorder-pixel frame.
struct GalleryLayout {
  static constexpr int kThumb = 128, kBorder = 4, kGap = 8, kMargin = 8, kCaptionBand = 24;
  static constexpr int kCell = kThumb + 2 * kBorder + kGap;
  static constexpr int kRowHeight = kCaptionBand + kThumb + 2 * kBorder + kGap;
};
// Frame colours (R, G, B).
inline constexpr unsigned char kGalleryCorrect[3] = {0, 190, 0};
inline constexpr unsigned char kGalleryWrongFirst[3] = {220, 0, 0};

// Writes the gallery as a PNG at `path` (atomically). Each clip's frames come from `frames` (the
// run's source, so at the model's resolution: what the model saw); the middle of its sampled
// frames is shown. Captions are printed in ASCII (other characters as '?'), cut to fit. Throws
// cma::Error naming the path when it cannot be written, or in a build without OpenCV.
void write_gallery(const std::string& path, const std::vector<GalleryRow>& rows, const FrameSource& frames,
                   const DataOptions& o);

}  // namespace cma::data
