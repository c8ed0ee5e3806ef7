// `cma demo` (app/demo.h): worlds A and B, pretraining on A, then three methods on B, each an
// ordinary `cma train` / `cma eval` in a child process; then the report and the pictures.
#include <CLI/CLI.hpp>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <memory>
#include <sstream>

#include "cma/app/child_process.h"
#include "cma/app/commands.h"
#include "cma/app/demo.h"
#include "cma/app/machine.h"
#include "cma/app/progress.h"
#include "cma/core/atomic_file.h"
#include "cma/core/error.h"
#include "cma/data/world.h"
#include "cma/model/clip_config.h"

namespace cma::app {
namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

#ifdef CMA_WITH_OPENCV
constexpr bool kPictures = true;  // curves.png and gallery.png are drawn with OpenCV
#else
constexpr bool kPictures = false;
#endif

std::string num(double v) {
  std::ostringstream o;
  o << v;
  return o.str();
}

data::WorldOptions world_options(const DemoOptions& o, data::WorldDomain d) {
  data::WorldOptions w;
  w.domain = d;
  w.train_clips = o.train_clips;
  w.test_clips = o.test_clips;
  w.captions_per_clip = o.captions;
  w.frames = o.frames;
  w.width = w.height = model::ClipConfig::preset(o.model).image_resolution;
  w.seed = o.seed;
  return w;
}

// How many "train" records a run's metrics.jsonl holds: with --log_every 1, its steps so far.
int64_t steps_logged(const std::string& metrics) {
  std::ifstream in(metrics);
  int64_t n = 0;
  for (std::string line; std::getline(in, line);) n += line.find("\"type\":\"train\"") != std::string::npos;
  return n;
}

// The last lines of a failed run's console, for the error message.
std::string tail_of(const std::string& path, int lines) {
  std::ifstream in(path);
  std::vector<std::string> all;
  for (std::string line; std::getline(in, line);) all.push_back(line);
  std::string out;
  for (size_t i = all.size() > static_cast<size_t>(lines) ? all.size() - lines : 0; i < all.size(); ++i) {
    out += "\n  " + all[i];
  }
  return out;
}

class Demo {
 public:
  explicit Demo(const DemoOptions& o) : o_(o), exe_(self_executable()) {}

  void run() {
    const auto t0 = Clock::now();
    o_.validate();
    std::error_code ec;
    fs::create_directories(o_.out, ec);
    require(!ec && fs::is_directory(o_.out), "cma demo: cannot create --out " + o_.out + ": " + ec.message());
    report_.options = o_;
    report_.cpu = cpu_description();
    std::printf("cma demo: cross-modal adapters on a synthetic world, written to %s (%s)\n", o_.out.c_str(),
                report_.cpu.c_str());
    write_worlds();
    pretrain();
    adapt();
    report_.total_seconds = seconds_since(t0);
    write_report();
  }

 private:
  std::string path(const std::string& name) const { return (fs::path(o_.out) / name).string(); }
  std::string world(data::WorldDomain d) const { return path(d == data::WorldDomain::A ? "world_a" : "world_b"); }
  std::string pretrained() const { return path("pretrain_a/backbone_last.safetensors"); }

  void phase(const std::string& what) {
    std::printf("[%d/5] %s\n", ++phase_, what.c_str());
    std::fflush(stdout);
  }

  void write_worlds() {
    phase("worlds A (pretraining) and B (shifted: unseen shape-colour pairs, backdrops and synonyms)");
    for (const auto d : {data::WorldDomain::A, data::WorldDomain::B}) {
      const auto w = world_options(o_, d);
      const auto t = Clock::now();
      if (!o_.regenerate && data::world_present(world(d), w)) {
        std::printf("      %s: present, kept (--regenerate writes it again)\n", world(d).c_str());
        continue;
      }
      data::write_world(world(d), w);
      std::printf("      %s: %d training clips x %d captions, %d test clips, %d frames of %dx%d, %.1f s\n",
                  world(d).c_str(), w.train_clips, w.captions_per_clip, w.test_clips, w.frames, w.width, w.height,
                  seconds_since(t));
    }
  }

  // The options every run shares: the world, the sampling, one log record per step (the
  // progress bar and the curves read them), no checkpoints but the last.
  std::vector<std::string> run_args(const std::string& command, const std::string& weights, data::WorldDomain d,
                                    const std::string& run_dir, const std::string& tune) const {
    return {command,
            "--weights", weights,
            "--anno_path", data::world_anno_path(world(d)),
            "--features_path", data::world_features_path(world(d)),
            "--max_words", std::to_string(o_.max_words),
            "--max_frames", std::to_string(o_.frames),
            "--batch_size", std::to_string(o_.batch_size),
            "--batch_size_val", "64",
            "--tune", tune,
            "--seed", std::to_string(o_.seed),
            "--threads", std::to_string(o_.threads),
            "--log_every", "1",
            "--checkpoint_every", "1000000",
            "--output_dir", run_dir};
  }

  // Runs `cma <args>` into `run_dir` (emptied first) with a progress bar over `steps` training
  // steps (0: an evaluation), and reads its results into a MethodResult.
  MethodResult run(const std::string& key, const std::string& name, std::vector<std::string> args, int64_t steps) {
    const std::string run_dir = path(key);
    fs::remove_all(run_dir);
    fs::create_directories(run_dir);
    const std::string console = run_dir + "/console.txt";
    Progress bar("      " + key);
    const std::string metrics = run_dir + "/metrics.jsonl";
    int64_t shown = 0;
    const auto child = run_child(exe_, args, console, [&] {
      const int64_t done = steps > 0 ? std::min(steps_logged(metrics), steps) : 0;
      if (done > shown) bar.update(done, steps), shown = done;  // once per step: evaluation adds no lines
    });
    bar.finish();
    require(child.exit_code == 0, "cma demo: the run in " + run_dir + " failed (exit code " +
                                      std::to_string(child.exit_code) + "); its console, " + console + ", ends:" +
                                      tail_of(console, 8));
    MethodResult r;
    r.key = key;
    r.name = name;
    read_method_result(run_dir, r);
    r.peak_rss_bytes = child.peak_rss_bytes;
    r.wall_seconds = child.seconds;
    return r;
  }

  int64_t steps(int epochs) const {
    return static_cast<int64_t>(epochs) * (static_cast<int64_t>(o_.train_clips) * o_.captions / o_.batch_size);
  }

  void pretrain() {
    phase("pretraining a " + o_.model + " CLIP from scratch on A (" + std::to_string(o_.pretrain_epochs) +
          " epochs, every parameter trained)");
    auto args = run_args("train", "random:" + o_.model, data::WorldDomain::A, path("pretrain_a"), "clip");
    args.insert(args.end(), {"--clip_lr", num(o_.pretrain_lr), "--epochs", std::to_string(o_.pretrain_epochs),
                             "--warmup_proportion", "0.1", "--weight_decay", "0.2"});
    report_.pretrain = run("pretrain_a", "CLIP trained from scratch on A", args, steps(o_.pretrain_epochs));
    report_.pretrain.stored_bytes = static_cast<int64_t>(fs::file_size(pretrained()));
    const double chance = 100.0 / o_.test_clips;
    std::printf("      text-to-video R1 %.1f on A's %d test clips (chance %.1f), %.0f s\n",
                report_.pretrain.t2v.value("R1", 0.0), o_.test_clips, chance, report_.pretrain.wall_seconds);
  }

  void adapt() {
    const auto b = data::WorldDomain::B;
    phase("zero-shot on B: the pretrained CLIP, nothing trained");
    report_.on_b.push_back(run("zero_shot_b", "Zero-shot", run_args("eval", pretrained(), b, path("zero_shot_b"), "none"), 0));
    print_result(report_.on_b.back());

    phase("full fine-tuning on B: every CLIP parameter (" + std::to_string(o_.epochs) + " epochs)");
    auto full = run_args("train", pretrained(), b, path("full_b"), "clip");
    full.insert(full.end(), {"--clip_lr", num(o_.full_lr), "--epochs", std::to_string(o_.epochs)});
    report_.on_b.push_back(run("full_b", "Full fine-tuning", full, steps(o_.epochs)));
    report_.on_b.back().stored_bytes = static_cast<int64_t>(fs::file_size(path("full_b/backbone_last.safetensors")));
    print_result(report_.on_b.back());

    phase("cross-modal adapters on B: CLIP frozen, adapters trained (" + std::to_string(o_.epochs) + " epochs)");
    auto adapters = run_args("train", pretrained(), b, path("adapters_b"), "adapters");
    adapters.insert(adapters.end(), {"--lr", num(o_.adapter_lr), "--epochs", std::to_string(o_.epochs), "--gallery",
                                     std::to_string(kPictures ? o_.gallery : 0)});
    report_.on_b.push_back(run("adapters_b", "Cross-modal adapters", adapters, steps(o_.epochs)));
    report_.on_b.back().stored_bytes =
        static_cast<int64_t>(fs::file_size(path("adapters_b/adapters_last.safetensors")));
    print_result(report_.on_b.back());
  }

  void print_result(const MethodResult& r) const {
    std::printf("      text-to-video R1 %.1f R5 %.1f MR %.1f, video-to-text R1 %.1f, %.0f s\n", r.t2v.value("R1", 0.0),
                r.t2v.value("R5", 0.0), r.t2v.value("MR", 0.0), r.v2t.value("R1", 0.0), r.wall_seconds);
    std::fflush(stdout);
  }

  void write_report() {
    std::string written = path("report.md") + ", " + path("report.json");
    write_text_atomic(path("report.json"), report_json(report_).dump(2) + "\n");
    write_text_atomic(path("report.md"), report_markdown(report_));
    if (kPictures) {
      write_curves_png(path("curves.png"), report_);
      written += ", " + path("curves.png");
      if (o_.gallery > 0) {
        fs::copy_file(path("adapters_b/gallery.png"), path("gallery.png"), fs::copy_options::overwrite_existing);
        written += ", " + path("gallery.png");
      }
    } else {
      std::printf("no pictures: this build has no OpenCV (configure with -DCMA_WITH_OPENCV=ON)\n");
    }
    std::printf("\n%s\nwrote %s\ntotal %d min %02d s\n", report_table(report_).c_str(), written.c_str(),
                static_cast<int>(report_.total_seconds) / 60, static_cast<int>(report_.total_seconds) % 60);
  }

  DemoOptions o_;
  std::string exe_;
  DemoReport report_;
  int phase_ = 0;
};

}  // namespace

void DemoOptions::validate() const {
  require(!out.empty(), "cma demo: --out must not be empty");
  const auto presets = model::ClipConfig::preset_names();
  require(std::find(presets.begin(), presets.end(), model) != presets.end() && model.rfind("ViT", 0) != 0,
          "cma demo: --model must be small or tiny (a shape trained from scratch in minutes), got '" + model + "'");
  require(train_clips >= 1, "cma demo: --train-clips must be >= 1");
  require(test_clips >= 2, "cma demo: --test-clips must be >= 2 (retrieval needs a choice)");
  require(captions >= 1, "cma demo: --captions must be >= 1");
  require(frames >= 2, "cma demo: --frames must be >= 2");
  require(max_words >= 8, "cma demo: --max-words must be >= 8");
  require(batch_size >= 2 && batch_size <= train_clips * captions,
          "cma demo: --batch-size must be from 2 to the training pairs (" + std::to_string(train_clips * captions) +
              "), got " + std::to_string(batch_size));
  require(pretrain_epochs >= 1 && epochs >= 1, "cma demo: --pretrain-epochs and --epochs must be >= 1");
  require(pretrain_lr > 0 && full_lr > 0 && adapter_lr > 0, "cma demo: learning rates must be > 0");
  require(gallery >= 0 && gallery <= test_clips, "cma demo: --gallery must be from 0 to --test-clips");
  require(threads >= 0, "cma demo: --threads must be >= 0");
}

void add_demo_command(CLI::App& app) {
  auto o = std::make_shared<DemoOptions>();
  auto* cmd = app.add_subcommand(
      "demo", "Pretrain a small CLIP on a synthetic world, then compare zero-shot, full fine-tuning and adapters "
              "on a shifted one (report.md, curves.png, gallery.png)");
  cmd->add_option("--out", o->out, "folder for the worlds, the runs and the report")->capture_default_str();
  cmd->add_option("--model", o->model, "CLIP shape trained from scratch: small | tiny")->capture_default_str();
  cmd->add_option("--train-clips,--train_clips", o->train_clips, "training clips per domain")->capture_default_str();
  cmd->add_option("--test-clips,--test_clips", o->test_clips, "test clips per domain")->capture_default_str();
  cmd->add_option("--captions", o->captions, "captions per training clip")->capture_default_str();
  cmd->add_option("--frames", o->frames, "frames per clip")->capture_default_str();
  cmd->add_option("--max-words,--max_words", o->max_words, "caption tokens")->capture_default_str();
  cmd->add_option("--batch-size,--batch_size", o->batch_size, "batch of every training run")->capture_default_str();
  cmd->add_option("--pretrain-epochs,--pretrain_epochs", o->pretrain_epochs, "epochs of pretraining on A")
      ->capture_default_str();
  cmd->add_option("--epochs", o->epochs, "epochs of each method on B")->capture_default_str();
  cmd->add_option("--pretrain-lr,--pretrain_lr", o->pretrain_lr, "learning rate of pretraining")->capture_default_str();
  cmd->add_option("--full-lr,--full_lr", o->full_lr, "learning rate of full fine-tuning on B")->capture_default_str();
  cmd->add_option("--adapter-lr,--adapter_lr", o->adapter_lr, "learning rate of the adapters on B")
      ->capture_default_str();
  cmd->add_option("--gallery", o->gallery, "test captions in gallery.png (0: none)")->capture_default_str();
  cmd->add_option("--threads", o->threads, "compute threads per run (0: all cores)")->capture_default_str();
  cmd->add_option("--seed", o->seed, "seed of the worlds and of training")
      ->check(CLI::NonNegativeNumber)  // CLI11 would wrap -1 to 2^64-1
      ->capture_default_str();
  cmd->add_flag("--regenerate", o->regenerate, "write the worlds again even when present");
  cmd->callback([o] { Demo(*o).run(); });
}

}  // namespace cma::app
