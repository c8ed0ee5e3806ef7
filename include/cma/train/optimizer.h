// BertAdam with the warmup schedules of the reference (docs/reference.md §5): no bias correction,
// decoupled weight decay, and a step counter that starts at 0 so the first update uses lr 0.
#pragma once
#include <torch/types.h>

#include <string>
#include <utility>
#include <vector>

#include "cma/core/tensor_io.h"

namespace cma::train {

struct OptimizerOptions {
  double lr = 1e-5;                          // --lr: peak learning rate of the adapters
  double warmup = 0.1;                       // --warmup_proportion: fraction of t_total spent warming up
  std::string schedule = "warmup_cosine";    // warmup_cosine | warmup_constant | warmup_linear
  double b1 = 0.9;                           // Adam beta1
  double b2 = 0.98;                          // Adam beta2
  double eps = 1e-6;                         // Adam epsilon (added to sqrt(v))
  double weight_decay = 0.2;                 // decay of non-bias tensors (biases get 0)
  double max_grad_norm = 1.0;                // global gradient-norm clip before each step
  void validate() const;
};

// The schedule's factor at progress x = step / t_total.
double schedule_factor(const std::string& schedule, double x, double warmup);

struct ParamGroup {
  std::vector<std::pair<std::string, torch::Tensor>> params;  // by name, for state files
  double lr = 0.0;
  double weight_decay = 0.0;
};

// Two groups selected by name: tensors whose name contains "bias" get no weight decay.
std::vector<ParamGroup> make_param_groups(const TensorMap& trainable, double lr, double weight_decay);

// Scales all gradients so their global L2 norm is at most max_norm; returns the norm before.
double clip_grad_norm(const std::vector<torch::Tensor>& params, double max_norm);

// Of the elements whose gradient was non-zero (`moving`: grad != 0, taken before the update), the
// fraction that the update left exactly as they were (`before`). An fp16 weight stops moving when
// lr x update falls under half its spacing (2^-11 of its size): a pure-fp16 run then stalls without
// any NaN. 0 when no gradient was non-zero.
double stalled_fraction(const std::vector<torch::Tensor>& before, const std::vector<torch::Tensor>& after,
                        const std::vector<torch::Tensor>& moving);

class BertAdam {
 public:
  BertAdam(std::vector<ParamGroup> groups, const OptimizerOptions& options, double t_total);

  // One update from the tensors' .grad(); tensors without a gradient are skipped.
  void step();
  // The learning rate the next step() applies to `group`.
  double scheduled_lr(size_t group = 0) const;
  int64_t steps_taken() const { return step_; }
  std::vector<torch::Tensor> all_params() const;

  // Moments as "exp_avg.<name>" / "exp_avg_sq.<name>" plus "step": everything an exact resume needs.
  TensorMap state() const;
  void load_state(const TensorMap& state, const std::string& source);

 private:
  std::vector<ParamGroup> groups_;
  OptimizerOptions options_;
  double t_total_;
  int64_t step_ = 0;
  std::vector<std::vector<torch::Tensor>> m_, v_;  // per group, per tensor
};

}  // namespace cma::train
