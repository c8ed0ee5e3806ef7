#include "cma/data/gallery.h"

#include <algorithm>

#include "cma/core/atomic_file.h"
#include "cma/core/error.h"

#if CMA_WITH_OPENCV
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>
#endif

namespace cma::data {

#if CMA_WITH_OPENCV
namespace {

using L = GalleryLayout;

cv::Scalar bgr(const unsigned char rgb[3]) { return cv::Scalar(rgb[2], rgb[1], rgb[0]); }

// The middle sampled frame of `video`, as a BGR image of the model's frame size.
cv::Mat middle_frame(const FrameSource& frames, const std::string& video, const DataOptions& o) {
  const size_t frame_bytes = static_cast<size_t>(o.frame_size) * o.frame_size * 3;
  std::vector<uint8_t> buf(frame_bytes * static_cast<size_t>(o.max_frames));
  const int n = frames.load(video, o.max_frames, o.slice_framepos, buf.data());
  require(n > 0, "video " + video + " has no frames to show in the gallery");
  cv::Mat rgb(o.frame_size, o.frame_size, CV_8UC3, buf.data() + frame_bytes * static_cast<size_t>(n / 2));
  cv::Mat out;
  cv::cvtColor(rgb, out, cv::COLOR_RGB2BGR);
  return out;
}

// Hershey fonts draw ASCII only; anything else would come out as garbage.
std::string printable(const std::string& text, size_t max_chars) {
  std::string out;
  for (size_t i = 0; i < text.size() && out.size() < max_chars; ++i) {
    const auto c = static_cast<unsigned char>(text[i]);
    if (c >= 0x80 && (c & 0xC0) == 0x80) continue;  // a UTF-8 continuation byte: one '?' per character
    out += (c >= 0x20 && c < 0x7F) ? static_cast<char>(c) : '?';
  }
  return out.size() < text.size() && out.size() == max_chars ? out.substr(0, max_chars - 3) + "..." : out;
}

void draw_row(cv::Mat& canvas, int r, const GalleryRow& row, const FrameSource& frames, const DataOptions& o,
              size_t columns) {
  const int top = L::kMargin + r * L::kRowHeight;
  const size_t max_chars = static_cast<size_t>(columns) * L::kCell / 8;  // about 8 px per character
  cv::putText(canvas, printable(row.caption, max_chars), {L::kMargin, top + L::kCaptionBand - 8},
              cv::FONT_HERSHEY_SIMPLEX, 0.45, cv::Scalar(20, 20, 20), 1, cv::LINE_AA);
  for (size_t k = 0; k < row.videos.size(); ++k) {
    const int x = L::kMargin + static_cast<int>(k) * L::kCell, y = top + L::kCaptionBand;
    const bool correct = row.correct[k], wrong_first = k == 0 && !correct;
    const cv::Scalar frame = correct ? bgr(kGalleryCorrect) : wrong_first ? bgr(kGalleryWrongFirst)
                                                                           : cv::Scalar(200, 200, 200);
    cv::rectangle(canvas, cv::Rect(x, y, L::kThumb + 2 * L::kBorder, L::kThumb + 2 * L::kBorder), frame, cv::FILLED);
    cv::Mat thumb;
    cv::resize(middle_frame(frames, row.videos[k], o), thumb, {L::kThumb, L::kThumb}, 0, 0,
               o.frame_size < L::kThumb ? cv::INTER_NEAREST : cv::INTER_AREA);
    thumb.copyTo(canvas(cv::Rect(x + L::kBorder, y + L::kBorder, L::kThumb, L::kThumb)));
  }
}

}  // namespace

void write_gallery(const std::string& path, const std::vector<GalleryRow>& rows, const FrameSource& frames,
                   const DataOptions& o) {
  require(!rows.empty(), "the gallery has no captions to show");
  size_t columns = 1;
  for (const auto& row : rows) {
    require(row.videos.size() == row.correct.size(), "gallery row for '" + row.caption + "' is inconsistent");
    columns = std::max(columns, row.videos.size());
  }
  const int width = 2 * L::kMargin + static_cast<int>(columns) * L::kCell - L::kGap;
  const int height = 2 * L::kMargin + static_cast<int>(rows.size()) * L::kRowHeight - L::kGap;
  cv::Mat canvas(height, width, CV_8UC3, cv::Scalar(255, 255, 255));
  for (size_t r = 0; r < rows.size(); ++r) draw_row(canvas, static_cast<int>(r), rows[r], frames, o, columns);
  std::vector<uint8_t> png;
  require(cv::imencode(".png", canvas, png), "cannot encode the gallery " + path);
  write_text_atomic(path, std::string(png.begin(), png.end()));  // a reader never sees half a picture
}

#else

void write_gallery(const std::string& path, const std::vector<GalleryRow>&, const FrameSource&, const DataOptions&) {
  throw Error("cannot draw the gallery " + path + ": cma was built without OpenCV (-DCMA_WITH_OPENCV=ON)");
}

#endif

}  // namespace cma::data
