// The training loop of docs/reference.md §6: build, restore, loop over batches calling step(), finish.
// Logging, evaluation and checkpointing hang off it as small hooks.
#pragma once
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "cma/data/run_data.h"
#include "cma/data/sampler.h"
#include "cma/dist/communicator.h"
#include "cma/eval/retrieval.h"
#include "cma/model/clip.h"
#include "cma/train/optimizer.h"
#include "cma/train/run_config.h"
#include "cma/train/run_folder.h"
#include "cma/train/state.h"

namespace cma::train {

// Exit codes of a run stopped by a signal after its checkpoint was written.
constexpr int kExitSigint = 130;
constexpr int kExitSigterm = 143;

// Installs SIGINT/SIGTERM handlers that ask the loop to stop after the current step.
void install_stop_handlers();
// Asks the loop to stop as if `signal` had arrived (tests).
void request_stop(int signal);
void clear_stop_request();

class Trainer {
 public:
  Trainer(RunConfig config, dist::Communicator& comm);
  ~Trainer();
  // Trains (or only evaluates with --do_eval / --tune none); returns the process exit code.
  int run();
  // Evaluates the current adapters on the test split (rank 0 computes; others wait).
  eval::EvalResult evaluate();

  const TrainState& state() const { return state_; }
  // Called after every optimizer step (tests use it to stop a run at a chosen step).
  std::function<void(const TrainState&)> on_step;
  model::ClipModelImpl& model() { return *model_; }

 private:
  // Embeds `pairs` (text and frames) on every rank's shard and gathers them; logs progress as
  // "embedded k/n test <noun> on each of W rank(s)".
  eval::Embeddings embed_test_pairs(const std::vector<data::Pair>& pairs, const char* noun);
  // gallery.png: the top clips of the first --gallery test captions ranked by `sim` [captions,
  // columns.size()], whose columns are the videos `columns`.
  void write_gallery(const torch::Tensor& sim, const std::vector<std::string>& columns);
  // Whether this run trains (else it only evaluates: cma eval, --do_eval, --tune none).
  bool trains() const;
  bool max_steps_reached() const;
  void build();
  void build_model(const std::string& weights);
  void build_schedule();
  void restore();
  void train_epoch();
  void step(const data::Batch& batch, int64_t micro_index);
  bool optimizer_step(double loss_value);
  void warn_if_stalled(double fraction);  // fraction: stalled_fraction of this update
  void after_epoch();
  void write_checkpoint();
  bool stop_requested();
  void log_step(double loss, double seconds, double wait);

  RunConfig cfg_;
  dist::Communicator& comm_;
  torch::Device device_;
  RunFolder folder_;
  model::ClipModel model_{nullptr};
  data::RunData data_;
  std::unique_ptr<data::DistributedSampler> sampler_;
  std::unique_ptr<BertAdam> optimizer_;
  TensorMap trainable_;
  std::vector<ParamGroup> groups_;  // from build_model() until the optimizer takes them
  TrainState state_;
  int64_t last_stall_warning_ = -1000000000;  // step of the last "fp16 adapters stalled" warning
  double last_lr_ = 0;
  double window_loss_ = 0, window_time_ = 0, window_wait_ = 0;
  int64_t window_steps_ = 0, window_clips_ = 0;
  int stop_signal_ = 0;
  // Reported with every evaluation: what this model's tuning trains, against the CLIP it adapts.
  int64_t trainable_params_ = 0, backbone_params_ = 0;
};

}  // namespace cma::train
