// The cross-modal adapter of Jiang et al. (docs/reference.md §2):
//   A(h) = h + Up(act(Down(h))),  Up = concat[UpUnique (D - ds wide), UpShare (ds wide)]
// UpShare of adapter k is one tensor used by both encoders: the paper's cross-modal interaction.
// The tensors live on ClipModel under the reference's names; an AdapterBank is a cheap view of one
// encoder's slices of them.
#pragma once
#include <torch/nn/module.h>

#include <string>

#include "cma/model/options.h"

namespace cma::model {

enum class Encoder { Vision, Text };

class AdapterBank {
 public:
  AdapterBank() = default;
  // `up_unique_*` may be undefined (text when Dt == ds); `up_share_*` undefined when ds == 0.
  AdapterBank(torch::Tensor down_w, torch::Tensor down_b, torch::Tensor up_unique_w,
              torch::Tensor up_unique_b, torch::Tensor up_share_w, torch::Tensor up_share_b,
              const AdapterOptions& options);

  bool enabled() const { return down_w_.defined(); }
  // Applies adapter k (2i: block i's attention branch, 2i+1: its MLP branch) to h [.., D].
  // Computes in the adapter's dtype (fp32 master weights, or fp16 with convert2fp16) and returns
  // h's dtype, as the reference does.
  torch::Tensor apply(int k, const torch::Tensor& h, bool training) const;

 private:
  torch::Tensor down_w_, down_b_;             // [K, r, D], [K, r]
  torch::Tensor up_unique_w_, up_unique_b_;   // [K, D-ds, r], [K, D-ds]
  torch::Tensor up_share_w_, up_share_b_;     // [K', ds, r], [K', ds]   (K' = 2 * text layers)
  std::string activation_;
  double dropout_ = 0.0;
};

// The activation by the reference's names (quick_gelu, gelu, gelu_new, relu, swish, silu).
torch::Tensor activate(const std::string& name, const torch::Tensor& z);

}  // namespace cma::model
