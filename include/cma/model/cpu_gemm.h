// Which library multiplies the model's matrices on the CPU, and how bf16 products run there.
//
// Debian's LibTorch sends fp32 products to OpenBLAS, which keeps a pthread pool of its own beside
// LibTorch's OpenMP pool: on few cores the two pools fight (threads spin in sched_yield), so cma
// ran every elementwise op on one thread to keep the GEMMs fast. oneDNN, inside the same LibTorch,
// runs on the OpenMP pool: with it, products and elementwise ops share one pool of N threads and
// OpenBLAS is left at one thread for what still goes there (attention's small batched products).
//
// bf16 products have a fast path in LibTorch 1.13 only on CPUs with AVX-512 (BW, VL, DQ); elsewhere
// LibTorch's fallback is 60-100x slower than fp32 (a ViT-B/32 step's shapes on an AVX2 CPU). There
// cma multiplies bf16 inputs in fp32 and rounds the result to bf16: the same rounding of inputs
// and outputs as the native path (which also accumulates in fp32), at fp32's speed.
#pragma once
#include <torch/types.h>

#include <string>

namespace cma::model {

enum class CpuGemm { openblas, onednn };

// "auto" (oneDNN on CPUs with AVX-512 when this LibTorch has it and its products check out, else
// OpenBLAS), "onednn" or "openblas"; throws naming --cpu_gemm, also for oneDNN whose check fails.
CpuGemm parse_cpu_gemm(const std::string& name);

// Whether this LibTorch's oneDNN inner product is right on this CPU, checked once per process on a
// few shapes against a float64 product; `detail` names the first wrong shape and its error. Debian
// 13's LibTorch 2.6 (oneDNN 3.7) gave relative errors of 0.2-0.7 on an AVX-512 AMD EPYC for output
// widths such as 33, 131, 496 and 752 (the last two are the adapters' up-projections), not for 768.
struct OneDnnCheck {
  bool ok = false;
  std::string detail;
};
const OneDnnCheck& onednn_check();
const char* cpu_gemm_name(CpuGemm g);

// The process-wide choice: set once before the model runs (train, eval, bench), read by every
// linear layer. The default is OpenBLAS, LibTorch's own behaviour.
void set_cpu_gemm(CpuGemm g);
CpuGemm cpu_gemm();

// Selects `g` and gives `threads` cores to the pool that runs its products: LibTorch's (OpenMP)
// with OpenBLAS at one thread for oneDNN; OpenBLAS's with LibTorch's at one for OpenBLAS (two
// pools of N threads on N cores spin against each other). Returns what it set, for the log.
std::string use_cpu_gemm(CpuGemm g, int threads);

// True when LibTorch's bf16 products run through oneDNN on this CPU (AVX-512 BW, VL and DQ).
bool native_bf16_gemm();

// True when `t` is a CPU bf16 tensor whose products should run in fp32 (no native bf16 path).
bool emulate_bf16(const torch::Tensor& t);

// y = x w^T + b on the selected library, with autograd for all three. x [.., Din], w [Dout, Din],
// b [Dout] or undefined. CPU fp32 only; anything else goes to torch::linear.
torch::Tensor cpu_linear(const torch::Tensor& x, const torch::Tensor& w, const torch::Tensor& b);

// torch::matmul, except that bf16 operands without a native path multiply in fp32 and the result
// is rounded to bf16 (attention's scores and weighted values).
torch::Tensor cpu_matmul(const torch::Tensor& a, const torch::Tensor& b);

}  // namespace cma::model
