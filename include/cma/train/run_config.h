// Everything a run is configured by, and which of it may change when a run resumes.
#pragma once
#include <nlohmann/json.hpp>

#include <map>
#include <string>

#include "cma/data/options.h"
#include "cma/dist/communicator.h"
#include "cma/eval/retrieval.h"
#include "cma/model/options.h"
#include "cma/train/options.h"

namespace cma::train {

// What a resumed run may change, declared for each option where it is bound (app/run_options.cpp).
enum class OnResume {
  Fixed,     // must equal the checkpoint's value: it changes what training computes
  Free,      // cannot change the trained adapters (threads, logging, evaluation batching, paths)
  Schedule,  // changes the schedule (epochs): refused unless --allow-schedule-change
};

struct RunConfig {
  model::ModelOptions model;
  data::DataOptions data;
  TrainOptions train;
  dist::DistOptions dist;
  eval::EvalOptions eval;
  nlohmann::json resolved;                        // {section: {key: value}}, written to config.json
  std::map<std::string, OnResume> on_resume;      // "section.key" -> rule; absent keys are Fixed
};

// Throws cma::Error naming `source` and the first key that differs between the checkpoint's
// resolved config and this run's in a way `rules` forbids, and what to do about it.
void require_resumable(const nlohmann::json& saved, const nlohmann::json& now,
                       const std::map<std::string, OnResume>& rules, bool allow_schedule_change,
                       const std::string& source);

}  // namespace cma::train
