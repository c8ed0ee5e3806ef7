#include "cma/train/state.h"

namespace cma::train {

nlohmann::json TrainState::to_json() const {
  return {{"epoch", epoch},          {"batch_in_epoch", batch_in_epoch}, {"global_step", global_step},
          {"skipped_steps", skipped_steps}, {"nonfinite_in_row", nonfinite_in_row},
          {"best_t2v_r1", best_t2v_r1}, {"best_epoch", best_epoch},     {"finished", finished}};
}

TrainState TrainState::from_json(const nlohmann::json& j) {
  TrainState s;
  s.epoch = j.at("epoch");
  s.batch_in_epoch = j.at("batch_in_epoch");
  s.global_step = j.at("global_step");
  s.skipped_steps = j.value("skipped_steps", 0);
  s.nonfinite_in_row = j.value("nonfinite_in_row", 0);
  s.best_t2v_r1 = j.value("best_t2v_r1", -1.0);
  s.best_epoch = j.value("best_epoch", -1);
  s.finished = j.value("finished", false);
  return s;
}

}  // namespace cma::train
