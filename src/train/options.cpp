#include "cma/train/options.h"

#include "cma/core/error.h"

namespace cma::train {

const std::vector<std::pair<std::string, Tune>>& tune_names() {
  static const std::vector<std::pair<std::string, Tune>> names = {
      {"adapters", Tune::Adapters}, {"full", Tune::Full}, {"none", Tune::None}};
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
  require(!(loss == LossScope::Local && tune == Tune::Full),
          "--loss local trains adapters only (with --tune full, logit_scale's gradient would be split over ranks); "
          "use --loss global with --tune full");
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
  require(device == "cpu" || device.rfind("cuda", 0) == 0, "--device '" + device + "' is not cpu, cuda or cuda:N");
  require(threads >= 0, "--threads must be >= 0");
}

}  // namespace cma::train
