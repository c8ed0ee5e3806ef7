// `cma synthetic`: a small MSR-VTT-shaped tree (annotations + JPEG frame folders) for a first run,
// demos and benchmarks, when the real data set is not at hand.
#include <CLI/CLI.hpp>

#include <cstdio>
#include <memory>

#include "cma/app/commands.h"
#include "cma/core/error.h"
#include "cma/data/synthetic.h"

namespace cma::app {

void add_synthetic_command(CLI::App& app) {
  auto out = std::make_shared<std::string>();
  auto spec = std::make_shared<data::SyntheticSpec>();
  auto* cmd = app.add_subcommand("synthetic", "Write a small synthetic MSR-VTT tree (anns/ and frames/) for demos");
  cmd->add_option("--out", *out, "folder to create")->required();
  cmd->add_option("--train-videos", spec->num_train_videos, "training videos")->capture_default_str();
  cmd->add_option("--test-videos", spec->num_test_videos, "test videos (one caption each)")->capture_default_str();
  cmd->add_option("--captions", spec->captions_per_video, "captions per training video")->capture_default_str();
  cmd->add_option("--frames", spec->frames_per_video, "frames per video")->capture_default_str();
  cmd->add_option("--width", spec->width, "frame width")->capture_default_str();
  cmd->add_option("--height", spec->height, "frame height")->capture_default_str();
  cmd->add_option("--seed", spec->seed, "content seed")->capture_default_str();
  cmd->callback([out, spec] {
    data::write_synthetic_msrvtt(*out, *spec);  // says so when the build has no JPEG encoder
    std::printf("wrote %s: --anno_path %s --features_path %s\n", out->c_str(), data::synthetic_anno_path(*out).c_str(),
                data::synthetic_features_path(*out).c_str());
  });
}

}  // namespace cma::app
