// A tiny, fast training setup shared by the trainer and CLI tests: a synthetic MSR-VTT tree with
// small JPEG frames and a random "tiny" CLIP.
#pragma once
#include <filesystem>
#include <string>

#include "cma/data/synthetic.h"
#include "cma/train/trainer.h"

namespace cma::testing {

inline std::string make_tiny_tree(const std::string& name, int train_videos = 12, int test_videos = 10) {
  const auto root = (std::filesystem::temp_directory_path() / ("cma_tree_" + name)).string();
  std::filesystem::remove_all(root);
  data::SyntheticSpec s;
  s.num_train_videos = train_videos;
  s.captions_per_video = 2;
  s.num_test_videos = test_videos;
  s.frames_per_video = 3;
  s.frames_spread = 2;  // 3 to 5 frames: exercises padding and sampling
  s.width = 48;
  s.height = 40;
  s.seed = 5;
  data::write_synthetic_msrvtt(root, s);
  return root;
}

inline train::RunConfig tiny_run(const std::string& tree, const std::string& out) {
  train::RunConfig c;
  c.model.pretrained_clip_name = "random:tiny";
  c.data.anno_path = data::synthetic_anno_path(tree);
  c.data.features_path = data::synthetic_features_path(tree);
  c.data.tokenizer = "bytes";
  c.data.max_words = 16;
  c.data.max_frames = 4;
  c.data.workers = 2;
  c.train.optim.lr = 1e-3;
  c.train.batch_size = 6;
  c.train.epochs = 2;
  c.train.log_every = 1;
  c.train.checkpoint_every = 3;
  c.train.output_dir = out;
  std::filesystem::remove_all(out);
  return c;
}

}  // namespace cma::testing
