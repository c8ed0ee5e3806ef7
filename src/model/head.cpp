#include "cma/model/head.h"

#include <limits>

namespace cma::model {

torch::Tensor retrieval_logits(const torch::Tensor& t, const torch::Tensor& v, const torch::Tensor& mask,
                               const torch::Tensor& logit_scale, const HeadOptions& head) {
  const auto t_hat = t / t.norm(2, -1, true);                                    // [N, E]
  const auto real = mask.to(v.scalar_type());                                     // [M, F]
  if (!head.q_score) {
    const auto count = real.sum(1, true).clamp_min(1.0);                         // [M, 1]
    auto p = (v * real.unsqueeze(-1)).sum(1) / count;                            // [M, E]
    p = p / p.norm(2, -1, true);                                                 // [M, E]
    return logit_scale.exp() * torch::matmul(t_hat, p.t());                      // [N, M]
  }
  const int64_t N = t.size(0), M = v.size(0), F = v.size(1), E = v.size(2);
  auto s = torch::matmul(t, v.reshape({M * F, E}).t()).view({N, M, F});          // [N, M, F]
  s = (s / head.q_score_temp).masked_fill(real.unsqueeze(0) == 0, -std::numeric_limits<float>::infinity());
  const auto w = torch::softmax(s, -1);                                          // [N, M, F]
  auto p = torch::matmul(w.transpose(0, 1), v).transpose(0, 1);                  // [N, M, E]
  p = p / p.norm(2, -1, true);                                                   // [N, M, E]
  const auto cos = (p * t_hat.unsqueeze(1)).sum(-1);                             // [N, M]
  return logit_scale.exp() * cos;                                                // [N, M]
}

torch::Tensor symmetric_ce_loss(const torch::Tensor& logits) {
  const auto target = torch::arange(logits.size(0), torch::TensorOptions().dtype(torch::kLong).device(logits.device()));
  const auto a = torch::nll_loss(torch::log_softmax(logits, 1), target);        // []
  const auto b = torch::nll_loss(torch::log_softmax(logits.t(), 1), target);    // []
  return 0.5 * (a + b);
}

}  // namespace cma::model
