// A tiny, fast training setup shared by the trainer and CLI tests: a synthetic MSR-VTT tree with
// small JPEG frames and a random "tiny" CLIP, all inside one temporary folder that is removed
// (with every run written beside the tree) when the TinyTree goes out of scope.
#pragma once
#include <filesystem>
#include <string>

#include "cma/data/synthetic.h"
#include "cma/train/trainer.h"
#include "test_tmp.h"

namespace cma::testing {

// The temporary folder `dir`, the synthetic tree in `dir / "tree"` and room for runs beside it.
struct TinyTree {
  TempDir dir;
  std::string root;  // the tree: anns/ and frames/

  TinyTree(const std::string& name, int train_videos, int test_videos)
      : dir("tree_" + name), root(dir / "tree") {
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
  }
  // A path beside the tree in the same temporary folder (not created).
  std::string operator/(const std::string& name) const { return dir / name; }
};

// `name` only labels the temporary folder.
inline TinyTree make_tiny_tree(const std::string& name, int train_videos = 12, int test_videos = 10) {
  return TinyTree(name, train_videos, test_videos);  // built in place (C++17): TempDir does not move
}

// A run on `tree` writing to `tree / run_name`, emptied first.
inline train::RunConfig tiny_run(const TinyTree& tree, const std::string& run_name) {
  train::RunConfig c;
  c.model.pretrained_clip_name = "random:tiny";
  c.data.anno_path = data::synthetic_anno_path(tree.root);
  c.data.features_path = data::synthetic_features_path(tree.root);
  c.data.tokenizer = "bytes";
  c.data.max_words = 16;
  c.data.max_frames = 4;
  c.data.workers = 2;
  c.train.optim.lr = 1e-3;
  c.train.batch_size = 6;
  c.train.epochs = 2;
  c.train.log_every = 1;
  c.train.checkpoint_every = 3;
  c.train.output_dir = tree / run_name;
  std::filesystem::remove_all(c.train.output_dir);
  return c;
}

}  // namespace cma::testing
