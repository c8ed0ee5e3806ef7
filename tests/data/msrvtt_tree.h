// Test helpers: a small MSR-VTT-shaped tree in a folder (see cma/data/synthetic.h for the layout),
// usually a TempDir from test_tmp.h. make_msrvtt_tree needs a JPEG encoder: OpenCV or TurboJPEG
// (CMA_HAVE_SYNTHETIC_FRAMES).
#pragma once
#include <cstdint>
#include <filesystem>
#include <string>

#include "cma/data/options.h"
#include "cma/data/synthetic.h"
#include "test_tmp.h"

namespace cma::testing {

#if CMA_HAVE_SYNTHETIC_FRAMES
// Writes a synthetic MSR-VTT tree under `dir` (anns/ and frames/) and returns DataOptions whose
// anno_path and features_path point at it (other fields at their defaults). Training videos are
// video0 .. video{num_train_videos-1}; the last `videos_without_folder` of them have no frame
// folder and the `videos_with_empty_folder` before those an empty one. Test videos follow.
inline cma::data::DataOptions make_msrvtt_tree(const std::string& dir, int num_train_videos, int captions_per_video,
                                               int num_test_videos, int frames_per_video, int width = 320,
                                               int height = 240, int videos_with_empty_folder = 0,
                                               int videos_without_folder = 0, uint64_t seed = 0) {
  cma::data::SyntheticSpec spec;
  spec.num_train_videos = num_train_videos;
  spec.captions_per_video = captions_per_video;
  spec.num_test_videos = num_test_videos;
  spec.frames_per_video = frames_per_video;
  spec.width = width;
  spec.height = height;
  spec.videos_with_empty_folder = videos_with_empty_folder;
  spec.videos_without_folder = videos_without_folder;
  spec.seed = seed;
  cma::data::write_synthetic_msrvtt(dir, spec);
  cma::data::DataOptions o;
  o.anno_path = cma::data::synthetic_anno_path(dir);
  o.features_path = cma::data::synthetic_features_path(dir);
  return o;
}
#endif

}  // namespace cma::testing
