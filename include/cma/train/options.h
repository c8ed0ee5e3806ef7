// Typed options of the trainer. The JSON config and the CLI flags bind to these fields.
#pragma once
#include <string>

#include "cma/train/optimizer.h"

namespace cma::train {

struct TrainOptions {
  OptimizerOptions optim;               // lr, schedule, Adam constants, decay, clipping
  double clip_lr = 1e-7;                // learning rate of backbone tensors with --tune full
  std::string tune = "adapters";        // adapters (the paper) | full (CLIP4Clip baseline) | none (zero-shot)
  int epochs = 5;                       // passes over the training pairs
  int batch_size = 128;                 // global batch, split evenly over ranks
  int batch_size_val = 16;              // evaluation batch per forward (results do not depend on it)
  int gradient_accumulation_steps = 1;  // micro-batches per optimizer step (loss divided by it)
  uint64_t seed = 42;                   // sampler shuffles, adapter init, dropout
  std::string adapters;                 // adapter file to start from or to evaluate (--adapters)
  std::string output_dir = "./logs";    // config.json, log.txt, metrics.jsonl, adapters, checkpoint
  bool resume = true;                   // continue from output_dir/checkpoint.safetensors when present
  int log_every = 100;                  // steps between plain log lines (--n_display)
  int checkpoint_every = 200;           // optimizer steps between checkpoints (and at each epoch end)
  int max_nonfinite_steps = 20;         // consecutive skipped non-finite steps before the run stops
  bool do_train = true;                 // train (then evaluate after each epoch)
  bool do_eval = false;                 // evaluate only
  bool eval_each_epoch = true;          // evaluate on the test split after every epoch
  int max_steps = 0;                    // stop after this many optimizer steps in total (0: no limit)
  std::string device = "cpu";           // cpu | cuda | cuda:N
  int threads = 0;                      // compute threads (0: all cores)

  void validate() const;
};

}  // namespace cma::train
