#include "cma/train/run_config.h"

#include "cma/core/error.h"

namespace cma::train {

void require_resumable(const nlohmann::json& saved, const nlohmann::json& now,
                       const std::map<std::string, OnResume>& rules, bool allow_schedule_change,
                       const std::string& source) {
  if (!saved.is_object() || !now.is_object()) return;
  const auto rule_of = [&](const std::string& key) {
    const auto it = rules.find(key);
    return it == rules.end() ? OnResume::Fixed : it->second;
  };
  // Keys on either side, so that an option added or removed between versions is compared too.
  for (const auto& side : {saved, now}) {
    for (auto sec = side.begin(); sec != side.end(); ++sec) {
      if (!sec->is_object()) continue;
      for (auto kv = sec->begin(); kv != sec->end(); ++kv) {
        const std::string key = sec.key() + "." + kv.key();
        const auto rule = rule_of(key);
        if (rule == OnResume::Free) continue;
        const auto a = saved.contains(sec.key()) ? saved[sec.key()].value(kv.key(), nlohmann::json()) : nlohmann::json();
        const auto b = now.contains(sec.key()) ? now[sec.key()].value(kv.key(), nlohmann::json()) : nlohmann::json();
        if (a == b) continue;
        if (rule == OnResume::Schedule) {
          if (allow_schedule_change) continue;
          throw Error(source + " was written with " + key + " = " + a.dump() + ", this run asks for " + b.dump() +
                      ": that changes the learning-rate schedule of the run being resumed. Pass "
                      "--allow-schedule-change to resume with the new value, --no-resume to start over, or "
                      "another --output_dir");
        }
        throw Error(source + " was written with " + key + " = " + a.dump() + ", this run asks for " + b.dump() +
                    ": resuming would mix two configurations. Use the checkpoint's value, --no-resume to start "
                    "over, or another --output_dir");
      }
    }
  }
}

}  // namespace cma::train
