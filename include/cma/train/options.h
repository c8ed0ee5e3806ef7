// Typed options of the trainer. The JSON config and the CLI flags bind to these fields.
#pragma once
#include <string>
#include <utility>
#include <vector>

#include "cma/train/optimizer.h"

namespace cma::train {

// What a run trains. Each policy implies its parameter groups (train/tune.h).
enum class Tune {
  Adapters,  // the paper: adapters at --lr, the backbone frozen
  Full,      // CLIP4Clip's baseline: adapters at --lr and the whole backbone at --clip_lr
  None,      // nothing: zero-shot evaluation
  Clip,      // CLIP alone at --clip_lr, adapters zeroed and frozen: pretraining, or fine-tuning without adapters
};
// Whether the policy trains the backbone (its run then saves it: backbone_*.safetensors).
inline bool trains_backbone(Tune t) { return t == Tune::Full || t == Tune::Clip; }
// How ranks share the contrastive loss (train/step.h).
enum class LossScope {
  Global,  // every rank scores the whole global batch (the reference): logits B x B per rank
  Local,   // each rank scores its own captions' rows and videos' columns: 2 x (B / W) x B
};
const std::vector<std::pair<std::string, LossScope>>& loss_scope_names();

// The flag's spelling of each policy ("adapters", "full", "none", "clip").
const std::vector<std::pair<std::string, Tune>>& tune_names();
std::string to_string(Tune t);

struct TrainOptions {
  OptimizerOptions optim;               // lr, schedule, Adam constants, decay, clipping
  double clip_lr = 1e-7;                // learning rate of backbone tensors with --tune full
  Tune tune = Tune::Adapters;           // adapters (the paper) | full (CLIP4Clip baseline) | none (zero-shot) | clip
  LossScope loss = LossScope::Global;   // global (the reference) | local (logits memory linear in the batch)
  int epochs = 5;                       // passes over the training pairs
  int batch_size = 128;                 // global batch, split evenly over ranks
  int batch_size_val = 16;              // evaluation batch per forward (results do not depend on it)
  int gradient_accumulation_steps = 1;  // micro-batches per optimizer step (loss divided by it)
  uint64_t seed = 42;                   // adapter init, dropout, and the --shuffle portable order (the reference order uses 0)
  std::string adapters;                 // adapter file to start from or to evaluate (--adapters)
  std::string output_dir = "./logs";    // config.json, log.txt, metrics.jsonl, adapters, checkpoint
  bool resume = true;                   // continue from output_dir/checkpoint.safetensors when present
  bool allow_schedule_change = false;   // resume even though --epochs differs from the checkpoint's
  int log_every = 100;                  // steps between plain log lines (--n_display)
  int checkpoint_every = 200;           // optimizer steps between checkpoints (and at each epoch end)
  int max_nonfinite_steps = 20;         // consecutive skipped non-finite steps before the run stops
  bool do_train = true;                 // train (then evaluate after each epoch)
  bool do_eval = false;                 // evaluate only
  bool eval_each_epoch = true;          // evaluate on the test split after every epoch
  int max_steps = 0;                    // stop after this many optimizer steps in total (0: no limit)
  std::string device = "cpu";           // cpu | cuda | cuda:N
  int threads = 0;                      // compute threads (0: all cores)
  std::string cpu_gemm = "auto";        // auto | onednn | openblas: the CPU's matrix library (model/cpu_gemm.h)
  bool deterministic = false;           // CUDA: the same bits on every run, so resume is exact (model/layers.h)

  void validate() const;
};

// The device a rank trains on: plain "cuda" becomes the GPU of the rank's local rank ("cuda:<n>"),
// as torchrun and mpirun lay ranks out (one per GPU); "cpu" and an explicit "cuda:N" stay.
std::string device_for_rank(const std::string& device, int local_rank);

}  // namespace cma::train
