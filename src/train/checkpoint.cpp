#include "cma/train/checkpoint.h"

#include <ATen/CPUGeneratorImpl.h>

#include <memory>

#include "cma/core/error.h"

namespace cma::train {
namespace {

// Ends every refusal to resume: how to go on without the file.
const std::string kAdvice =
    "delete it, or pass --no-resume to start the run over (or restore an intact copy of the file)";

// The dtypes save_checkpoint writes for each tensor name; empty for a name it never writes.
std::vector<st::DType> expected_dtypes(const std::string& name) {
  const std::vector<st::DType> floats = {st::DType::F32, st::DType::F16, st::DType::BF16};  // half with --tune full
  if (name.rfind("param.", 0) == 0 || name.rfind("optim.exp_avg", 0) == 0) return floats;
  if (name == "optim.step") return {st::DType::I64};
  if (name == "rng.cpu") return {st::DType::U8};
  return {};
}

// `read` applied to the JSON in metadata entry `key`, naming the key when the text is not JSON or
// `read` finds a field missing or of the wrong type.
template <typename Read>
auto read_meta_json(const st::File& f, const std::string& key, const std::string& fallback, Read read) {
  try {
    return read(nlohmann::json::parse(f.meta(key, fallback)));
  } catch (const nlohmann::json::exception& e) {
    throw Error(f.path() + ": checkpoint metadata '" + key + "' is not readable (" + e.what() + "); " + kAdvice);
  }
}

}  // namespace

torch::Tensor cpu_rng_state() {
  auto gen = at::detail::getDefaultCPUGenerator();
  std::lock_guard<std::mutex> lock(gen.mutex());
  return gen.get_state();
}

void set_cpu_rng_state(const torch::Tensor& state) {
  auto gen = at::detail::getDefaultCPUGenerator();
  std::lock_guard<std::mutex> lock(gen.mutex());
  gen.set_state(state);
}

void save_checkpoint(const std::string& path, const Checkpoint& c) {
  TensorMap all;
  for (const auto& kv : c.params) {
    require(torch::isfinite(kv.second).all().item<bool>(),
            "refusing to write a checkpoint: tensor '" + kv.first + "' holds non-finite values");
    all["param." + kv.first] = kv.second;
  }
  for (const auto& kv : c.optimizer) all["optim." + kv.first] = kv.second;
  all["rng.cpu"] = c.rng;
  save_tensors(path, all,
               {{"format", kCheckpointFormat},
                {"format_version", std::to_string(kCheckpointVersion)},
                {"state", c.state.to_json().dump()},
                {"config", c.config.dump()}});
}

Checkpoint load_checkpoint(const std::string& path) {
  const auto file = st::open_own(path, kAdvice);
  const st::File& f = *file;
  require(f.meta("format") == kCheckpointFormat, path + ": not a cma checkpoint (format '" + f.meta("format") + "')");
  const int version = st::format_version(f, kCheckpointVersion, 0, kAdvice);
  // A flipped byte in the checksum's own key would otherwise make a damaged file look unchecked.
  require(version < 2 || f.checksum_verified(),
          path + ": no '" + st::kChecksumKey + "' entry, which every version-" + std::to_string(version) +
              " checkpoint carries: the header is damaged; " + kAdvice);
  Checkpoint c;
  for (const auto& name : f.names()) {
    const auto allowed = expected_dtypes(name);
    require(!allowed.empty(), path + ": unexpected tensor '" + name +
                                  "' (a checkpoint holds param.*, optim.exp_avg*, optim.step and rng.cpu); " + kAdvice);
    auto t = load_checked(f, name, allowed, kAdvice);
    if (name.rfind("param.", 0) == 0) {
      c.params[name.substr(6)] = std::move(t);
    } else if (name.rfind("optim.", 0) == 0) {
      c.optimizer[name.substr(6)] = std::move(t);
    } else {
      c.rng = std::move(t);
    }
  }
  require(c.rng.defined(), path + ": no tensor 'rng.cpu'; " + kAdvice);
  // LibTorch's own error for a generator state of another size would read as an internal error.
  const int64_t rng_bytes = cpu_rng_state().numel();
  require(c.rng.numel() == rng_bytes, path + ": tensor 'rng.cpu' has " + std::to_string(c.rng.numel()) +
                                          " bytes, the CPU generator's state has " + std::to_string(rng_bytes) +
                                          "; " + kAdvice);
  c.state = read_meta_json(f, "state", "", [](const nlohmann::json& j) { return TrainState::from_json(j); });
  c.config = read_meta_json(f, "config", "{}", [](const nlohmann::json& j) { return j; });
  return c;
}

}  // namespace cma::train
