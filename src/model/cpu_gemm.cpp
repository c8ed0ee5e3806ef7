#include "cma/model/cpu_gemm.h"

#include <ATen/Context.h>
#include <ATen/Parallel.h>
#include <ATen/ops/mkldnn_linear.h>
#include <dlfcn.h>

#include <atomic>

#include "cma/core/error.h"

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

}  // namespace

CpuGemm parse_cpu_gemm(const std::string& name) {
  if (name == "openblas") return CpuGemm::openblas;
  if (name == "onednn") {
    require(at::hasMKLDNN(), "--cpu_gemm onednn: this LibTorch was built without oneDNN (MKLDNN); use openblas");
    return CpuGemm::onednn;
  }
  // oneDNN multiplies fp32 about twice as fast as OpenBLAS on AVX-512 CPUs; on AVX2 the two were
  // level in `cma bench step`, and one pool on every core loses more than it gains when several
  // processes share the cores (a tiny model's step does little but wake threads).
  if (name == "auto") return at::hasMKLDNN() && __builtin_cpu_supports("avx512f") ? CpuGemm::onednn : CpuGemm::openblas;
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
