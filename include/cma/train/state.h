// Training progress: one plain struct, and exactly what a checkpoint saves besides tensors.
#pragma once
#include <nlohmann/json.hpp>

#include <cstdint>

namespace cma::train {

struct TrainState {
  int64_t epoch = 0;           // current epoch (0-based)
  int64_t batch_in_epoch = 0;  // next batch index of this epoch (this rank's sampler)
  int64_t global_step = 0;     // optimizer steps taken
  int64_t skipped_steps = 0;   // non-finite steps skipped in total
  int64_t nonfinite_in_row = 0;
  double best_t2v_r1 = -1.0;   // best text-to-video R@1 so far
  int64_t best_epoch = -1;
  bool finished = false;       // all epochs done

  nlohmann::json to_json() const;
  static TrainState from_json(const nlohmann::json& j);
};

}  // namespace cma::train
