// A small MSR-VTT-shaped dataset written to disk, for tests and benchmarks: the three annotation
// files the reference reads and one folder of frame images per video. Torch-free; frames are
// written with OpenCV, or with TurboJPEG (JPEG only) in builds without OpenCV.
//
// Layout under `root`:
//   anns/MSRVTT_data.json          "sentences": captions_per_video per video (train and test),
//                                  interleaved round-robin over videos as in the real file, so that
//                                  JSON order differs from grouping by video
//   anns/MSRVTT_train.9k.csv       video_id; the training videos in reverse order (pair order must
//                                  come from the JSON, not from this file)
//   anns/MSRVTT_train.7k.csv       video_id; the first ceil(7/9) of the training videos
//   anns/MSRVTT_JSFUSION_test.csv  key,vid_key,video_id,sentence; one row per test video, in reverse
//                                  order; every other sentence holds a comma and a quote (quoted)
//   frames/<video_id>.mp4/NNNNN<ext> frame images, seeded smooth colour fields with some noise
//
// Video ids are "video<i>": training videos i = 0 .. num_train_videos-1, then the test videos.
// The last training videos are the broken ones: videos_with_empty_folder with an empty folder,
// then videos_without_folder with none.
#pragma once
#include <cstdint>
#include <string>

namespace cma::data {

struct SyntheticSpec {
  int num_train_videos = 9;
  int captions_per_video = 20;      // MSR-VTT has 20
  int num_test_videos = 3;          // one JSFusion row each (the real split has 1000)
  int frames_per_video = 12;
  int frames_spread = 0;            // video i gets frames_per_video + i % (frames_spread + 1) frames
  int width = 320, height = 240;    // frame size in pixels
  std::string frame_ext = ".jpg";   // .jpg or .png
  int jpeg_quality = 90;
  uint64_t seed = 0;                // frames and captions are a function of the seed only
  int videos_with_empty_folder = 0; // training videos listed with an empty frame folder
  int videos_without_folder = 0;    // training videos listed with no frame folder at all
};

inline std::string synthetic_anno_path(const std::string& root) { return root + "/anns"; }
inline std::string synthetic_features_path(const std::string& root) { return root + "/frames"; }
inline std::string synthetic_video_id(int index) { return "video" + std::to_string(index); }
// Frames of video `index` (before any folder is left empty or missing).
inline int synthetic_frame_count(const SyntheticSpec& s, int index) {
  return s.frames_per_video + index % (s.frames_spread + 1);
}

// Writes the dataset under `root` (created if needed; existing files are overwritten). Throws
// cma::Error on an invalid spec or when a file cannot be written.
void write_synthetic_msrvtt(const std::string& root, const SyntheticSpec& spec);

}  // namespace cma::data
