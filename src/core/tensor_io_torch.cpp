#include "cma/core/tensor_io.h"

#include <algorithm>

#include "cma/core/error.h"

namespace cma {
namespace {

torch::ScalarType to_scalar_type(st::DType dtype) {
  switch (dtype) {
    case st::DType::F64: return torch::kFloat64;
    case st::DType::F32: return torch::kFloat32;
    case st::DType::F16: return torch::kFloat16;
    case st::DType::BF16: return torch::kBFloat16;
    case st::DType::I64: return torch::kInt64;
    case st::DType::I32: return torch::kInt32;
    case st::DType::I16: return torch::kInt16;
    case st::DType::I8: return torch::kInt8;
    case st::DType::U8: return torch::kUInt8;
    case st::DType::BOOL: return torch::kBool;
  }
  throw Error("unreachable dtype");
}

st::DType to_st_dtype(torch::ScalarType t, const std::string& name) {
  switch (t) {
    case torch::kFloat64: return st::DType::F64;
    case torch::kFloat32: return st::DType::F32;
    case torch::kFloat16: return st::DType::F16;
    case torch::kBFloat16: return st::DType::BF16;
    case torch::kInt64: return st::DType::I64;
    case torch::kInt32: return st::DType::I32;
    case torch::kInt16: return st::DType::I16;
    case torch::kInt8: return st::DType::I8;
    case torch::kUInt8: return st::DType::U8;
    case torch::kBool: return st::DType::BOOL;
    default: break;
  }
  throw Error("tensor '" + name + "' has a dtype safetensors cannot store");
}

// "F32, F16 or BF16".
std::string dtype_list(const std::vector<st::DType>& dtypes) {
  std::string out;
  for (size_t i = 0; i < dtypes.size(); ++i) {
    out += (i == 0 ? "" : i + 1 == dtypes.size() ? " or " : ", ") + std::string(st::dtype_name(dtypes[i]));
  }
  return out;
}

}  // namespace

torch::Tensor to_torch(const st::TensorView& view) {
  auto out = torch::empty(view.shape, torch::TensorOptions().dtype(to_scalar_type(view.dtype)));
  if (view.nbytes) std::memcpy(out.data_ptr(), view.data, view.nbytes);
  return out;
}

TensorMap load_tensors(const st::File& file, const std::string& prefix) {
  TensorMap out;
  for (const auto& name : file.names()) {
    if (name.compare(0, prefix.size(), prefix) != 0) continue;
    out[name.substr(prefix.size())] = to_torch(file.get(name));
  }
  return out;
}

torch::Tensor load_checked(const st::File& file, const std::string& name, const std::vector<st::DType>& allowed,
                           const std::string& advice) {
  const auto& view = file.get(name);
  require(std::find(allowed.begin(), allowed.end(), view.dtype) != allowed.end(),
          file.path() + ": tensor '" + name + "' has dtype " + st::dtype_name(view.dtype) + "; this file may hold " +
              dtype_list(allowed) + " only; " + advice);
  auto t = to_torch(view);
  if (t.is_floating_point()) {
    const int64_t bad = (~torch::isfinite(t)).sum().item<int64_t>();
    require(bad == 0, file.path() + ": tensor '" + name + "' holds " + std::to_string(bad) + " non-finite value" +
                          (bad == 1 ? "" : "s") + " (NaN or infinity) of " + std::to_string(t.numel()) + "; " + advice);
  }
  return t;
}

void save_tensors(const std::string& path, const TensorMap& tensors,
                  const std::map<std::string, std::string>& metadata) {
  std::vector<torch::Tensor> keep;  // owns the contiguous CPU copies while writing
  std::vector<st::TensorBytes> entries;
  for (const auto& kv : tensors) {
    auto t = kv.second.detach().to(torch::kCPU).contiguous();
    keep.push_back(t);
    entries.push_back({kv.first, to_st_dtype(t.scalar_type(), kv.first),
                       std::vector<int64_t>(t.sizes().begin(), t.sizes().end()), t.data_ptr(),
                       static_cast<size_t>(t.numel()) * t.element_size()});
  }
  st::write(path, entries, metadata);
}

}  // namespace cma
