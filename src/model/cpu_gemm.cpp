#include "cma/model/cpu_gemm.h"

#include <ATen/Context.h>
#include <ATen/Parallel.h>
#include <ATen/CPUGeneratorImpl.h>
#include <ATen/ops/mkldnn_linear.h>
#include <dlfcn.h>

#include <atomic>

#include "cma/core/error.h"
#include "cma/core/log.h"

namespace cma::model {
namespace {

std::atomic<CpuGemm> g_gemm{CpuGemm::openblas};

bool fp32_on_cpu(const torch::Tensor& x, const torch::Tensor& w, const torch::Tensor& b) {
  const auto ok = [](const torch::Tensor& t) { return t.device().is_cpu() && t.scalar_type() == torch::kFloat; };
  return ok(x) && ok(w) && (!b.defined() || ok(b));
}

// oneDNN's inner product on [rows, Din]. LibTorch 1.13 exposes it only on tensors in oneDNN's own
// layout, so the input goes in and the result comes out through one copy each (the profiler shows
// them beside the products); the conversions and mkldnn_linear have LibTorch's autograd formulas
// for the input, the weight and the bias.
torch::Tensor onednn_linear(const torch::Tensor& x, const torch::Tensor& w, const torch::Tensor& b) {
  auto sizes = x.sizes().vec();
  sizes.back() = w.size(0);
  const auto rows = x.reshape({-1, x.size(-1)}).contiguous();           // [N, Din]
  const auto bias = b.defined() ? c10::optional<torch::Tensor>(b) : c10::nullopt;
  const auto y = at::mkldnn_linear(rows.to_mkldnn(), w.contiguous(), bias);  // [N, Dout], oneDNN layout
  return y.to_dense().view(sizes);                                       // [.., Dout]
}

OneDnnCheck run_onednn_check() {
  if (!at::hasMKLDNN()) return {false, "this LibTorch was built without oneDNN (MKLDNN)"};
  const torch::NoGradGuard no_grad;
  const auto gen = at::make_generator<at::CPUGeneratorImpl>(0);
  for (const int64_t dout : {33, 131, 496, 752}) {
    const int64_t rows = 96, din = 64;
    const auto x = at::randn({rows, din}, gen, torch::kFloat);
    const auto w = at::randn({dout, din}, gen, torch::kFloat);
    const auto b = at::randn({dout}, gen, torch::kFloat);
    const auto want = torch::addmm(b.to(torch::kDouble), x.to(torch::kDouble), w.to(torch::kDouble).t());
    const auto got = onednn_linear(x, w, b).to(torch::kDouble);
    const double err = (got - want).abs().max().item<double>() / want.abs().max().item<double>();
    if (!(err < 1e-4)) {
      return {false, "this LibTorch's oneDNN inner product is wrong on this CPU ([" + std::to_string(rows) + ", " +
                         std::to_string(din) + "] x [" + std::to_string(dout) + ", " + std::to_string(din) +
                         "]^T: relative error " + std::to_string(err) + ")"};
    }
  }
  return {true, "oneDNN's products checked against float64"};
}

}  // namespace

const OneDnnCheck& onednn_check() {
  static const OneDnnCheck check = run_onednn_check();
  return check;
}

CpuGemm parse_cpu_gemm(const std::string& name) {
  if (name == "openblas") return CpuGemm::openblas;
  if (name == "onednn") {
    require(onednn_check().ok, "--cpu_gemm onednn: " + onednn_check().detail + "; use --cpu_gemm openblas");
    return CpuGemm::onednn;
  }
  // oneDNN multiplies fp32 about twice as fast as OpenBLAS on AVX-512 CPUs; on AVX2 the two were
  // level in `cma bench step`, and one pool on every core loses more than it gains when several
  // processes share the cores (a tiny model's step does little but wake threads). A oneDNN whose
  // products are wrong here is never chosen.
  if (name == "auto") {
    if (!at::hasMKLDNN() || !__builtin_cpu_supports("avx512f")) return CpuGemm::openblas;
    if (onednn_check().ok) return CpuGemm::onednn;
    static std::atomic<bool> said{false};
    if (!said.exchange(true)) log::warn("model", "--cpu_gemm auto: OpenBLAS, not oneDNN: {}", onednn_check().detail);
    return CpuGemm::openblas;
  }
  throw Error("--cpu_gemm '" + name + "' is not one of auto, onednn, openblas");
}

const char* cpu_gemm_name(CpuGemm g) { return g == CpuGemm::onednn ? "oneDNN" : "OpenBLAS"; }

void set_cpu_gemm(CpuGemm g) { g_gemm = g; }
CpuGemm cpu_gemm() { return g_gemm; }

std::string use_cpu_gemm(CpuGemm g, int threads) {
  set_cpu_gemm(g);
  // Debian's LibTorch calls a pthread OpenBLAS; other builds may have none, or MKL.
  using SetThreads = void (*)(int);
  const auto openblas = reinterpret_cast<SetThreads>(::dlsym(RTLD_DEFAULT, "openblas_set_num_threads"));
  if (g == CpuGemm::onednn || !openblas) {
    if (openblas) openblas(1);
    at::set_num_threads(threads);
    return "LibTorch intra-op " + std::to_string(threads) + ", products on " + cpu_gemm_name(g) +
           (openblas ? " (OpenBLAS at 1 thread)" : "");
  }
  openblas(threads);
  at::set_num_threads(1);
  return "OpenBLAS " + std::to_string(threads) + ", LibTorch intra-op 1 (products on OpenBLAS)";
}

bool native_bf16_gemm() {
  // LibTorch 1.13 sends bf16 products to oneDNN only with these three extensions (its
  // mkldnn_bf16_device_check); everything else takes a scalar fallback.
  static const bool native = __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512vl") &&
                             __builtin_cpu_supports("avx512dq");
  return native;
}

bool emulate_bf16(const torch::Tensor& t) {
  return t.device().is_cpu() && t.scalar_type() == torch::kBFloat16 && !native_bf16_gemm();
}

torch::Tensor cpu_linear(const torch::Tensor& x, const torch::Tensor& w, const torch::Tensor& b) {
  if (emulate_bf16(x) && w.scalar_type() == torch::kBFloat16) {
    const auto bias = b.defined() ? b.to(torch::kFloat) : b;
    return cpu_linear(x.to(torch::kFloat), w.to(torch::kFloat), bias).to(torch::kBFloat16);
  }
  if (g_gemm == CpuGemm::onednn && x.numel() > 0 && fp32_on_cpu(x, w, b)) return onednn_linear(x, w, b);
  return torch::linear(x, w, b);
}

torch::Tensor cpu_matmul(const torch::Tensor& a, const torch::Tensor& b) {
  if (emulate_bf16(a) && b.scalar_type() == torch::kBFloat16) {
    return torch::matmul(a.to(torch::kFloat), b.to(torch::kFloat)).to(torch::kBFloat16);
  }
  return torch::matmul(a, b);
}

}  // namespace cma::model
