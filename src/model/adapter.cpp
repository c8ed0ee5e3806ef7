#include "cma/model/adapter.h"

#include <cmath>

#include "cma/core/error.h"
#include "cma/model/item_gemm.h"

namespace cma::model {

torch::Tensor activate(const std::string& name, const torch::Tensor& z) {
  if (name == "quick_gelu") return z * torch::sigmoid(1.702 * z);
  if (name == "gelu") return torch::gelu(z);
  if (name == "gelu_new") {  // tanh approximation, as transformers' "gelu_new"
    const double c = std::sqrt(2.0 / M_PI);
    return 0.5 * z * (1.0 + torch::tanh(c * (z + 0.044715 * z * z * z)));
  }
  if (name == "relu") return torch::relu(z);
  if (name == "swish" || name == "silu") return torch::silu(z);
  throw Error("unknown adapter activation '" + name + "'");
}

AdapterBank::AdapterBank(torch::Tensor down_w, torch::Tensor down_b, torch::Tensor up_unique_w,
                         torch::Tensor up_unique_b, torch::Tensor up_share_w,
                         torch::Tensor up_share_b, const AdapterOptions& options)
    : down_w_(std::move(down_w)),
      down_b_(std::move(down_b)),
      up_unique_w_(std::move(up_unique_w)),
      up_unique_b_(std::move(up_unique_b)),
      up_share_w_(std::move(up_share_w)),
      up_share_b_(std::move(up_share_b)),
      activation_(options.non_linearity),
      dropout_(options.dropout) {}

torch::Tensor AdapterBank::apply(int k, const torch::Tensor& h, bool training) const {
  const auto dtype = down_w_.scalar_type();
  const auto x = h.to(dtype);                                      // [.., D]
  auto z = item_linear(x, down_w_[k], down_b_[k]);               // [.., r]
  z = activate(activation_, z);                                    // [.., r]
  if (dropout_ > 0.0) z = torch::dropout(z, dropout_, training);  // [.., r]
  torch::Tensor up_w, up_b;  // unique columns first, shared columns last
  if (up_unique_w_.defined() && up_share_w_.defined()) {
    up_w = torch::cat({up_unique_w_[k], up_share_w_[k]}, 0);       // [D, r]
    up_b = torch::cat({up_unique_b_[k], up_share_b_[k]}, 0);       // [D]
  } else if (up_share_w_.defined()) {
    up_w = up_share_w_[k];
    up_b = up_share_b_[k];
  } else {
    up_w = up_unique_w_[k];
    up_b = up_unique_b_[k];
  }
  const auto out = item_linear(z, up_w, up_b);                   // [.., D]
  return h + out.to(h.scalar_type());                              // [.., D]
}

}  // namespace cma::model
