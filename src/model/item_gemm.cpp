#include "cma/model/item_gemm.h"

namespace cma::model {
namespace {
thread_local bool g_per_item = false;
}  // namespace

ItemGemmScope::ItemGemmScope() : previous_(g_per_item) { g_per_item = true; }
ItemGemmScope::~ItemGemmScope() { g_per_item = previous_; }

torch::Tensor item_linear(const torch::Tensor& x, const torch::Tensor& w, const torch::Tensor& b) {
  if (!g_per_item || x.dim() < 2 || x.dim() > 3) return torch::linear(x, w, b);
  const bool rows = x.dim() == 2;
  const auto x3 = rows ? x.unsqueeze(1) : x;                               // [I, T, Din]
  const int64_t I = x3.size(0), T = x3.size(1);
  const auto wt = w.t().unsqueeze(0).expand({I, w.size(1), w.size(0)});  // [I, Din, Dout], no copy
  auto y = b.defined() ? torch::baddbmm(b.view({1, 1, -1}).expand({I, T, w.size(0)}), x3, wt)
                       : torch::bmm(x3, wt);                               // [I, T, Dout]
  return rows ? y.squeeze(1) : y;
}

}  // namespace cma::model
