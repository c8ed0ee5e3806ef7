// The CPU's matrix products (model/cpu_gemm.h, model/item_gemm.h): oneDNN agrees with OpenBLAS in
// value and in all three gradients; per-item products give an item the same bits wherever it
// sits, on several threads; bf16 products round like bf16 whether native or computed in fp32;
// --cpu_gemm names are checked, and a oneDNN whose products are wrong on this CPU is never chosen.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <iostream>
#include <vector>

#include "cma/core/error.h"
#include "cma/model/cpu_gemm.h"
#include "cma/model/item_gemm.h"

namespace cma::model {
namespace {

// Selects a library and its threads for one test, as `cma train` does, and restores the defaults.
class WithGemm {
 public:
  WithGemm(CpuGemm g, int threads) { use_cpu_gemm(g, threads); }
  ~WithGemm() { use_cpu_gemm(CpuGemm::openblas, 1); }
};

// The libraries cma may use here: oneDNN only where its products pass cma's check (model/cpu_gemm.h;
// CpuGemm.WrongOneDnnIsNeverChosen covers the other case).
std::vector<CpuGemm> usable_gemms() {
  if (onednn_check().ok) return {CpuGemm::onednn, CpuGemm::openblas};
  std::cout << "[ note ] oneDNN left out: " << onednn_check().detail << "\n";
  return {CpuGemm::openblas};
}

#define SKIP_UNLESS_ONEDNN_USABLE() \
  if (!onednn_check().ok) GTEST_SKIP() << "cma does not use oneDNN here: " << onednn_check().detail

// Largest |a - b| relative to b's largest magnitude.
double rel_diff(const torch::Tensor& a, const torch::Tensor& b) {
  return (a - b).abs().max().item<double>() / std::max(b.abs().max().item<double>(), 1e-30);
}

struct LinearResult {
  torch::Tensor y, gx, gw, gb;
};

LinearResult linear_with_grads(CpuGemm g, const torch::Tensor& x0, const torch::Tensor& w0, const torch::Tensor& b0,
                               const torch::Tensor& gy) {
  const WithGemm scope(g, 2);
  auto x = x0.clone().requires_grad_(true);
  auto w = w0.clone().requires_grad_(true);
  auto b = b0.clone().requires_grad_(true);
  auto y = cpu_linear(x, w, b);
  y.backward(gy);
  return {y.detach(), x.grad(), w.grad(), b.grad()};
}

TEST(CpuGemm, OneDnnMatchesOpenBlasWithGradients) {
  SKIP_UNLESS_ONEDNN_USABLE();
  torch::manual_seed(0);
  // A [items, tokens, D] activation like a transformer's, with sizes that are not multiples of any block.
  const auto x = torch::randn({3, 37, 70});
  const auto w = torch::randn({131, 70}) * 0.1;
  const auto b = torch::randn({131});
  const auto gy = torch::randn({3, 37, 131});
  const auto ours = linear_with_grads(CpuGemm::onednn, x, w, b, gy);
  const auto blas = linear_with_grads(CpuGemm::openblas, x, w, b, gy);
  ASSERT_EQ(ours.y.sizes(), blas.y.sizes());
  EXPECT_LE(rel_diff(ours.y, blas.y), 1e-5);
  EXPECT_LE(rel_diff(ours.gx, blas.gx), 1e-5);
  EXPECT_LE(rel_diff(ours.gw, blas.gw), 1e-5);
  EXPECT_LE(rel_diff(ours.gb, blas.gb), 1e-5);
  // And against the definition, in float64.
  const auto want = torch::matmul(x.to(torch::kDouble), w.to(torch::kDouble).t()) + b.to(torch::kDouble);
  EXPECT_LE(rel_diff(ours.y.to(torch::kDouble), want), 1e-5);
}

TEST(CpuGemm, FrozenWeightsGetNoGradientAndTheInputDoes) {
  SKIP_UNLESS_ONEDNN_USABLE();
  const WithGemm scope(CpuGemm::onednn, 2);
  torch::manual_seed(1);
  auto x = torch::randn({5, 16}).requires_grad_(true);
  const auto w = torch::randn({8, 16});  // frozen, as the backbone
  const auto gy = torch::randn({5, 8});
  cpu_linear(x, w, {}).backward(gy);
  ASSERT_TRUE(x.grad().defined());
  EXPECT_FALSE(w.grad().defined());
  EXPECT_LE(rel_diff(x.grad(), torch::matmul(gy, w)), 1e-5);
}

TEST(CpuGemm, PerItemProductsIgnoreNeighboursOnSeveralThreads) {
  for (const auto g : usable_gemms()) {
    SCOPED_TRACE(cpu_gemm_name(g));
    const WithGemm scope(g, 2);
    const torch::NoGradGuard no_grad;
    const ItemGemmScope per_item;
    torch::manual_seed(2);
    const auto item = torch::randn({1, 50, 96});
    const auto w = torch::randn({200, 96});
    const auto b = torch::randn({200});
    const auto alone = item_linear(item, w, b);
    // The same item among 2, 7 and 13 others, at the start, the middle and the end.
    for (int n : {2, 7, 13}) {
      auto batch = torch::randn({n, 50, 96});
      for (int pos : {0, n / 2, n - 1}) {
        auto x = batch.clone();
        x[pos] = item[0];
        const auto y = item_linear(x, w, b);
        EXPECT_TRUE(torch::equal(y[pos], alone[0])) << "item at " << pos << " of " << n;
      }
    }
    // The products are the layer's: the batched result equals a plain product within rounding.
    const auto x = torch::randn({9, 50, 96});
    EXPECT_LE(rel_diff(item_linear(x, w, b), torch::linear(x, w, b)), 1e-5);
  }
}

TEST(CpuGemm, Bf16ProductsRoundLikeBf16) {
  torch::manual_seed(3);
  const auto x = torch::randn({4, 21, 64}).to(torch::kBFloat16);
  const auto w = (torch::randn({48, 64}) * 0.2).to(torch::kBFloat16);
  const auto b = torch::randn({48}).to(torch::kBFloat16);
  // bf16 inputs are exact in fp32; the product in float64 rounded once to bf16 is what a
  // correctly rounded bf16 product would give. Native (fp32 accumulation) and emulated paths may
  // each differ from it by an ulp of bf16 (2^-8 relative) from their own summation order.
  const auto want = torch::linear(x.to(torch::kDouble), w.to(torch::kDouble), b.to(torch::kDouble));
  for (const auto g : usable_gemms()) {
    SCOPED_TRACE(cpu_gemm_name(g));
    const WithGemm scope(g, 2);
    const auto y = cpu_linear(x, w, b);
    ASSERT_EQ(y.scalar_type(), torch::kBFloat16);
    const auto err = (y.to(torch::kDouble) - want).abs();
    const auto bound = want.abs() * std::ldexp(1.0, -7) + 1e-3;
    EXPECT_TRUE((err <= bound).all().item<bool>()) << "largest error " << err.max().item<double>();
    const auto mm = cpu_matmul(x, w.t());
    ASSERT_EQ(mm.scalar_type(), torch::kBFloat16);
    const auto want_mm = torch::matmul(x.to(torch::kDouble), w.to(torch::kDouble).t());
    const auto mm_err = (mm.to(torch::kDouble) - want_mm).abs();
    EXPECT_TRUE((mm_err <= want_mm.abs() * std::ldexp(1.0, -7) + 1e-3).all().item<bool>())
        << "largest error " << mm_err.max().item<double>();
  }
}

// The check tells the truth about a product of the adapters' up-projection shape (496 wide), and a
// oneDNN that fails it is refused by name and never picked by auto: Debian 13's LibTorch 2.6 gave
// wrong products there on an AVX-512 AMD EPYC.
TEST(CpuGemm, WrongOneDnnIsNeverChosen) {
  if (!at::hasMKLDNN()) GTEST_SKIP() << "this LibTorch has no oneDNN";
  torch::manual_seed(4);
  const auto x = torch::randn({100, 70});
  const auto w = torch::randn({496, 70});
  const auto b = torch::randn({496});
  double err = 0;
  {
    const WithGemm scope(CpuGemm::onednn, 2);  // forced, as parse_cpu_gemm would not allow
    const auto want = torch::addmm(b.to(torch::kDouble), x.to(torch::kDouble), w.to(torch::kDouble).t());
    err = rel_diff(cpu_linear(x, w, b).to(torch::kDouble), want);
  }
  EXPECT_EQ(onednn_check().ok, err < 1e-4) << "check: " << onednn_check().detail << "; error here " << err;
  if (onednn_check().ok) {
    EXPECT_EQ(parse_cpu_gemm("onednn"), CpuGemm::onednn);
    return;
  }
  EXPECT_EQ(parse_cpu_gemm("auto"), CpuGemm::openblas);
  try {
    parse_cpu_gemm("onednn");
    FAIL() << "accepted --cpu_gemm onednn with wrong products";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("use --cpu_gemm openblas"), std::string::npos) << e.what();
  }
}

TEST(CpuGemm, NamesAreChecked) {
  EXPECT_EQ(parse_cpu_gemm("openblas"), CpuGemm::openblas);
  if (onednn_check().ok) {
    EXPECT_EQ(parse_cpu_gemm("onednn"), CpuGemm::onednn);
  }
  const bool avx512 = __builtin_cpu_supports("avx512f");
  EXPECT_EQ(parse_cpu_gemm("auto"), onednn_check().ok && avx512 ? CpuGemm::onednn : CpuGemm::openblas);
  try {
    parse_cpu_gemm("mkl");
    FAIL() << "accepted --cpu_gemm mkl";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("--cpu_gemm 'mkl'"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace cma::model
