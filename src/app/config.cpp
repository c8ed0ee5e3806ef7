#include "cma/app/config.h"

#include <filesystem>
#include <set>

#include "cma/core/atomic_file.h"
#include "cma/core/error.h"

namespace cma::app {

std::string ConfigBinder::flag_names(const std::string& name, const std::vector<std::string>& aliases) {
  std::string kebab = name;
  for (auto& ch : kebab) {
    if (ch == '_') ch = '-';
  }
  std::string names = "--" + kebab;
  if (kebab != name) names += ",--" + name;
  for (const auto& a : aliases) names += "," + a;
  return names;
}

ConfigBinder::Handle ConfigBinder::add(const std::string& section, const std::string& name, CLI::Option* opt,
                                       std::function<void(const nlohmann::json&)> set,
                                       std::function<nlohmann::json()> get) {
  bindings_.push_back({section, name, opt, std::move(set), std::move(get)});
  return Handle(*this, bindings_.size() - 1);
}

ConfigBinder::Handle ConfigBinder::bind_switch(const std::string& section, const std::string& name, bool* field,
                                               const std::string& help, const std::vector<std::string>& aliases) {
  auto* opt = cmd_.add_flag(flag_names(name, aliases), *field, help)->expected(0, 1);
  return add(section, name, opt, [field](const nlohmann::json& j) { *field = j.is_boolean() ? j.get<bool>() : j.get<int>() != 0; },
      [field] { return nlohmann::json(*field); });
}

void ConfigBinder::bind_fixed(const std::string& name, const std::string& only_value, const std::string& help) {
  auto value = std::make_shared<std::string>(only_value);
  fixed_values_.push_back(value);
  cmd_.add_option(flag_names(name, {}), *value, help + " (only '" + only_value + "')")
      ->check(CLI::IsMember({only_value}));
}

void ConfigBinder::bind_ignored(const std::string& name, const std::string& help) {
  auto value = std::make_shared<std::string>();
  fixed_values_.push_back(value);
  cmd_.add_option(flag_names(name, {}), *value, help + " (ignored)");
}

void ConfigBinder::bind_noop_switch(const std::string& name, const std::string& help) {
  cmd_.add_flag(flag_names(name, {}), help)->expected(0, 1);
}

void ConfigBinder::add_config_flag() {
  cmd_.add_option("--config", config_path_, "JSON config (configs/*.json); flags given on the command line win")
      ->check(CLI::ExistingFile);
}

void ConfigBinder::apply_config() {
  if (config_path_.empty()) return;
  nlohmann::json j;
  try {
    j = nlohmann::json::parse(read_text(config_path_));
  } catch (const nlohmann::json::exception& e) {
    throw Error(config_path_ + ": not valid JSON: " + e.what());
  }
  require(j.is_object(), config_path_ + ": the config must be a JSON object of sections");
  for (auto sec = j.begin(); sec != j.end(); ++sec) {
    require(sec->is_object(), config_path_ + ": section '" + sec.key() + "' must be a JSON object of keys, not " +
                                  sec->dump());
    std::set<std::string> valid;
    for (const auto& b : bindings_) {
      if (b.section == sec.key()) valid.insert(b.name);
    }
    if (valid.empty()) {
      std::set<std::string> sections;
      for (const auto& b : bindings_) sections.insert(b.section);
      std::string list;
      for (const auto& s : sections) list += (list.empty() ? "" : ", ") + s;
      throw Error(config_path_ + ": unknown section '" + sec.key() + "'; valid sections: " + list);
    }
    for (auto kv = sec->begin(); kv != sec->end(); ++kv) {
      if (!valid.count(kv.key())) {
        std::string list;
        for (const auto& v : valid) list += (list.empty() ? "" : ", ") + v;
        throw Error(config_path_ + ": unknown key '" + sec.key() + "." + kv.key() + "'; valid keys in '" + sec.key() +
                    "': " + list);
      }
      for (auto& b : bindings_) {
        if (b.section != sec.key() || b.name != kv.key() || b.option->count() > 0) continue;
        try {
          b.set(kv.value());
        } catch (const nlohmann::json::exception& e) {
          // nlohmann's text after its "[json.exception.type_error.302] " tag says what was expected.
          const std::string what = e.what(), why = what.substr(what.find(']') == std::string::npos ? 0 : what.find(']') + 2);
          throw Error(config_path_ + ": '" + sec.key() + "." + kv.key() + "' = " + kv.value().dump() + ": " + why);
        }
      }
    }
  }
}

nlohmann::json ConfigBinder::resolved() const {
  nlohmann::json out = nlohmann::json::object();
  for (const auto& b : bindings_) out[b.section][b.name] = b.get();
  return out;
}

std::map<std::string, train::OnResume> ConfigBinder::resume_rules() const {
  std::map<std::string, train::OnResume> out;
  for (const auto& b : bindings_) out[b.section + "." + b.name] = b.on_resume;
  return out;
}

}  // namespace cma::app
