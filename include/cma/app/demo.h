// `cma demo`: the paper's claim, told in one command on a laptop, with no CLIP weights or data set.
//
//   1. Two domains of the synthetic world (data/world.h): A for pretraining, B shifted from it.
//   2. A small CLIP trained from scratch on A (--tune clip), saved in OpenAI's tensor names.
//   3. On B, from those same weights and with the same steps: zero-shot, full fine-tuning (CLIP
//      alone, --tune clip) and cross-modal adapters (--tune adapters, the paper's method).
//   4. report.md / report.json (a table of what each method trains, stores and reaches),
//      curves.png (loss and R@1 per epoch) and gallery.png (retrievals of the adapted model).
//
// Each training and evaluation is an ordinary `cma train` / `cma eval` in a child process, in
// its own folder under the demo's, so each can be inspected, re-run or resumed on its own.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace cma::app {

struct DemoOptions {
  std::string out = "cma_demo";  // everything is written here
  std::string model = "small";   // the CLIP shape (random:<preset>) pretrained from scratch on A
  int train_clips = 1000;        // training clips of each domain
  int test_clips = 100;          // test clips of each domain (one caption each)
  int captions = 2;              // captions per training clip
  int frames = 3;                // frames per clip (and --max_frames)
  int size = 64;                 // frame width and height; the model's resolution must match
  int max_words = 32;
  int batch_size = 32;
  int pretrain_epochs = 7;       // on A
  int epochs = 3;                // on B, for each trained method
  double pretrain_lr = 5e-4;     // --clip_lr of pretraining
  double full_lr = 1e-4;         // --clip_lr of full fine-tuning on B
  double adapter_lr = 5e-3;      // --lr of the adapters on B
  int gallery = 4;               // test captions in gallery.png
  int threads = 0;               // compute threads of each run (0: all cores)
  uint64_t seed = 0;             // world and training seeds
  bool regenerate = false;       // write the worlds again even when present

  // Checks every field; messages name the flag.
  void validate() const;
};

// One method's outcome, read back from its run folder.
struct EpochPoint {
  int epoch = 0;
  double loss = 0;     // mean training loss over the epoch's steps
  double t2v_r1 = 0;   // text-to-video R@1 after the epoch
  double seconds = 0;  // training time of the epoch (steps only, evaluation excluded)
};
struct MethodResult {
  std::string key;   // run folder name: pretrain_a, zero_shot_b, full_b, adapters_b
  std::string name;  // what the table calls it
  int64_t trainable_params = 0, backbone_params = 0;
  nlohmann::json t2v, v2t;     // the final evaluation's metrics (R1 R5 R10 MR MeanR)
  std::vector<EpochPoint> curve;  // empty for zero-shot
  double seconds_per_epoch = 0;   // 0 for zero-shot
  int64_t peak_rss_bytes = 0;     // of the run's process
  int64_t stored_bytes = 0;       // what must be kept for the data set, beyond the shared CLIP
  double wall_seconds = 0;        // the run's process, start to exit
};

// Reads `run_dir`'s metrics.jsonl and eval.json into `r` (the fields above from key to curve and
// seconds_per_epoch). Throws cma::Error naming the file when one is missing or malformed.
void read_method_result(const std::string& run_dir, MethodResult& r);

struct DemoReport {
  DemoOptions options;
  std::string cpu;                 // machine.h
  MethodResult pretrain;           // on A
  std::vector<MethodResult> on_b;  // zero-shot, full fine-tuning, adapters
  double total_seconds = 0;
};

// The report as JSON (report.json: every figure, for scripts and the demo's test) and as Markdown
// (report.md: the table, what it shows, and the pictures). The Markdown table is also printed.
nlohmann::json report_json(const DemoReport& r);
std::string report_table(const DemoReport& r);
std::string report_markdown(const DemoReport& r);

// curves.png: training loss (left) and text-to-video R@1 (right) per epoch for every method on
// B, zero-shot as a level line. Throws cma::Error in a build without OpenCV.
void write_curves_png(const std::string& path, const DemoReport& r);

}  // namespace cma::app
