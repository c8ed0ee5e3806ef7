#include "cma/model/item_gemm.h"

#include "cma/model/cpu_gemm.h"

namespace cma::model {
namespace {
thread_local bool g_per_item = false;
thread_local int64_t g_group = 1;

// Item i's rows through their own product, y[i] = x[i] w^T + b, one item after another, each on
// the selected library with all its threads: the same shape on the same threads gives the same
// bits. (Spreading items over threads, one single-threaded product each, measured slower here:
// two concurrent OpenBLAS calls reach less than one call on two threads.) No autograd.
torch::Tensor per_item_cpu(const torch::Tensor& x3, const torch::Tensor& w, const torch::Tensor& b) {
  std::vector<torch::Tensor> ys;
  ys.reserve(x3.size(0));
  for (int64_t i = 0; i < x3.size(0); ++i) ys.push_back(cpu_linear(x3[i], w, b));  // [T, Dout]
  return torch::stack(ys);                                                          // [I, T, Dout]
}

}  // namespace

ItemGemmScope::ItemGemmScope() : previous_(g_per_item) { g_per_item = true; }
ItemGemmScope::~ItemGemmScope() { g_per_item = previous_; }
ItemGroupScope::ItemGroupScope(int64_t n) : previous_(g_group) { g_group = std::max<int64_t>(1, n); }
ItemGroupScope::~ItemGroupScope() { g_group = previous_; }

torch::Tensor item_linear(const torch::Tensor& x, const torch::Tensor& w, const torch::Tensor& b) {
  if (!g_per_item || x.dim() < 2 || x.dim() > 3) return cpu_linear(x, w, b);
  const bool rows = x.dim() == 2;
  const int64_t G = x.size(0) % g_group == 0 ? g_group : 1;  // entries per item
  const int64_t items = x.size(0) / G;
  const auto x3 = rows ? x.reshape({items, G, x.size(1)})                 // [I, T, Din]
                       : x.reshape({items, G * x.size(1), x.size(2)});
  const int64_t I = x3.size(0), T = x3.size(1);
  torch::Tensor y;
  if (x.device().is_cpu() && !torch::GradMode::is_enabled() && I > 0) {
    if (emulate_bf16(x3) && w.scalar_type() == torch::kBFloat16) {  // widen the weight once, not per item
      const auto bias = b.defined() ? b.to(torch::kFloat) : b;
      y = per_item_cpu(x3.to(torch::kFloat), w.to(torch::kFloat), bias).to(torch::kBFloat16);
    } else {
      y = per_item_cpu(x3, w, b);                                          // [I, T, Dout]
    }
  } else {
    const auto wt = w.t().unsqueeze(0).expand({I, w.size(1), w.size(0)});  // [I, Din, Dout], no copy
    y = b.defined() ? torch::baddbmm(b.view({1, 1, -1}).expand({I, T, w.size(0)}), x3, wt)
                    : torch::bmm(x3, wt);                                  // [I, T, Dout]
  }
  return rows ? y.reshape({x.size(0), -1}) : y.reshape({x.size(0), x.size(1), -1});
}

}  // namespace cma::model
