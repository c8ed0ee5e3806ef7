// TorchScript and pickled state-dict reading, kept in its own file: torch/script.h is heavy.
#include <torch/script.h>
#include <torch/serialize.h>

#include <fstream>
#include <iterator>

#include "cma/core/error.h"
#include "cma/core/tensor_io.h"

namespace cma::model {

TensorMap read_torch_archive(const std::string& path) {
  {
    std::ifstream probe(path, std::ios::binary);
    require(static_cast<bool>(probe), "cannot read weights file " + path);
  }
  std::string jit_error;
  try {
    auto module = torch::jit::load(path, torch::kCPU);
    TensorMap out;
    for (const auto& p : module.named_parameters(true)) out[p.name] = p.value.detach().clone();
    for (const auto& b : module.named_buffers(true)) out[b.name] = b.value.detach().clone();
    return out;
  } catch (const c10::Error& e) {
    jit_error = e.what_without_backtrace();
  }
  // Not TorchScript: the reference also accepts a plain state dict saved with torch.save.
  try {
    std::ifstream in(path, std::ios::binary);
    std::vector<char> bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    auto value = torch::pickle_load(bytes);
    require(value.isGenericDict(), path + ": not a state dict");
    TensorMap out;
    for (const auto& kv : value.toGenericDict()) {
      if (kv.value().isTensor()) out[kv.key().toStringRef()] = kv.value().toTensor();
    }
    return out;
  } catch (const c10::Error& e) {
    throw Error(path + ": neither a TorchScript archive (" + jit_error.substr(0, 200) +
                ") nor a state dict (" + std::string(e.what_without_backtrace()).substr(0, 200) + ")");
  }
}

}  // namespace cma::model
