// Which dtype each part of the model computes in, decided once from --precision, the device and
// --adapter_convert2fp16. Everyone else (trainer, evaluation, benchmarks, tests) asks this.
#pragma once
#include <c10/core/Device.h>
#include <c10/core/ScalarType.h>

#include <string>

namespace cma::model {

struct Precision {
  c10::ScalarType backbone = c10::kFloat;  // matrices of the frozen backbone (LayerNorms, embeddings stay fp32)
  c10::ScalarType adapters = c10::kFloat;  // adapter weights and the optimizer state that follows them
  std::string describe() const;            // "backbone bf16, adapters fp32"
};

// `precision`: auto (fp16 on CUDA, as the reference; fp32 on the CPU) | fp32 | bf16 | fp16.
// fp16 on the CPU is refused (no fp16 GEMMs there; bf16 is the CPU's fast type). convert2fp16
// (the reference's flag) stores the adapters in the backbone's half type on CUDA; on the CPU the
// adapters keep fp32, and `note` says so.
Precision resolve_precision(const std::string& precision, bool convert2fp16, const c10::Device& device,
                            std::string* note = nullptr);

// Short names (fp32, bf16, fp16) of the dtypes Precision uses.
std::string dtype_name(c10::ScalarType t);

}  // namespace cma::model
