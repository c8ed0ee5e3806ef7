#include "cma/model/precision.h"

#include "cma/core/error.h"

namespace cma::model {

std::string dtype_name(c10::ScalarType t) {
  switch (t) {
    case c10::kFloat: return "fp32";
    case c10::kBFloat16: return "bf16";
    case c10::kHalf: return "fp16";
    default: return c10::toString(t);
  }
}

std::string Precision::describe() const {
  return "backbone " + dtype_name(backbone) + ", adapters " + dtype_name(adapters);
}

Precision resolve_precision(const std::string& precision, bool convert2fp16, const c10::Device& device,
                            std::string* note) {
  const bool cuda = device.is_cuda();
  Precision p;
  if (precision == "auto") p.backbone = cuda ? c10::kHalf : c10::kFloat;
  else if (precision == "fp32") p.backbone = c10::kFloat;
  else if (precision == "bf16") p.backbone = c10::kBFloat16;
  else if (precision == "fp16") p.backbone = c10::kHalf;
  else throw Error("--precision '" + precision + "' is not one of auto, fp32, bf16, fp16");
  require(cuda || p.backbone != c10::kHalf,
          "--precision fp16 needs --device cuda; on the CPU use bf16 (or fp32)");
  if (convert2fp16) {
    if (cuda && p.backbone != c10::kFloat) {
      p.adapters = p.backbone;
    } else if (note) {
      *note = std::string("--adapter_convert2fp16 has no effect with a ") + dtype_name(p.backbone) + " backbone on " +
              (cuda ? "CUDA" : "the CPU") + ": adapters stay fp32";
    }
  }
  return p;
}

}  // namespace cma::model
