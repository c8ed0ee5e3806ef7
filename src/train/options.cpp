#include "cma/train/options.h"

#include <torch/cuda.h>

#include "cma/core/error.h"

namespace cma::train {
namespace {

// A device this process can use, checked before any work: LibTorch's own error for a missing CUDA
// is a C++ stack trace.
void check_device(const std::string& device) {
  if (device == "cpu") return;
  const bool cuda = device == "cuda" || device.rfind("cuda:", 0) == 0;
  const std::string index = device.size() > 5 ? device.substr(5) : "";
  require(cuda && (device == "cuda" || (!index.empty() && index.size() < 4 &&
                                        index.find_first_not_of("0123456789") == std::string::npos)),
          "--device '" + device + "' is not cpu, cuda or cuda:N");
#ifdef CMA_WITH_CUDA
  const int64_t n = static_cast<int64_t>(torch::cuda::device_count());
  require(n > 0, "--device " + device + ": no CUDA device is visible (check the driver and CUDA_VISIBLE_DEVICES), "
                 "or use --device cpu");
  require(index.empty() || std::stoll(index) < n, "--device " + device + ": only " + std::to_string(n) +
                                                      " CUDA device(s) are visible (cuda:0 .. cuda:" +
                                                      std::to_string(n - 1) + ")");
#else
  throw Error("--device " + device + ": this cma was built against a CPU-only LibTorch, so it cannot use a GPU; "
              "use --device cpu, or build against a CUDA LibTorch (README, 'GPUs and LibTorch 2.x')");
#endif
}

}  // namespace

const std::vector<std::pair<std::string, Tune>>& tune_names() {
  static const std::vector<std::pair<std::string, Tune>> names = {
      {"adapters", Tune::Adapters}, {"full", Tune::Full}, {"none", Tune::None}, {"clip", Tune::Clip}};
  return names;
}

const std::vector<std::pair<std::string, LossScope>>& loss_scope_names() {
  static const std::vector<std::pair<std::string, LossScope>> names = {{"global", LossScope::Global},
                                                                       {"local", LossScope::Local}};
  return names;
}

std::string to_string(Tune t) {
  for (const auto& [name, value] : tune_names()) {
    if (value == t) return name;
  }
  return "?";
}

void TrainOptions::validate() const {
  optim.validate();
  require(!(loss == LossScope::Local && trains_backbone(tune)),
          "--loss local trains adapters only (with --tune " + to_string(tune) +
              ", logit_scale's gradient would be split over ranks); use --loss global with it");
  require(!(tune == Tune::Clip && !adapters.empty()),
          "--tune clip trains CLIP without adapters; drop --adapters " + adapters + " (or use --tune full)");
  require(clip_lr >= 0, "--clip_lr must be >= 0, got " + std::to_string(clip_lr));
  require(epochs >= 1, "--epochs must be >= 1, got " + std::to_string(epochs));
  require(batch_size >= 1, "--batch_size must be >= 1, got " + std::to_string(batch_size));
  require(batch_size_val >= 1, "--batch_size_val must be >= 1, got " + std::to_string(batch_size_val));
  require(gradient_accumulation_steps >= 1,
          "--gradient_accumulation_steps must be >= 1, got " + std::to_string(gradient_accumulation_steps));
  require(!output_dir.empty(), "--output_dir must not be empty");
  require(log_every >= 1, "--log-every must be >= 1, got " + std::to_string(log_every));
  require(checkpoint_every >= 1, "--checkpoint-every must be >= 1, got " + std::to_string(checkpoint_every));
  require(max_nonfinite_steps >= 1, "--max-nonfinite-steps must be >= 1");
  require(max_steps >= 0, "--max-steps must be >= 0");
  check_device(device);
  require(threads >= 0, "--threads must be >= 0");
  require(cpu_gemm == "auto" || cpu_gemm == "onednn" || cpu_gemm == "openblas",
          "--cpu_gemm '" + cpu_gemm + "' is not one of auto, onednn, openblas");
}

std::string device_for_rank(const std::string& device, int local_rank) {
  return device == "cuda" ? "cuda:" + std::to_string(local_rank) : device;
}

}  // namespace cma::train
