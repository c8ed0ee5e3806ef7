// One binding per option: the same field is set by a CLI flag (kebab-case primary, the reference's
// snake_case accepted) or by the JSON config key (snake_case, under its section). Flags win over
// the config; unknown keys are errors that list the valid ones.
#pragma once
#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include <functional>
#include <string>
#include <vector>

#include "cma/train/trainer.h"

namespace cma::app {

class ConfigBinder {
 public:
  explicit ConfigBinder(CLI::App& cmd) : cmd_(cmd) {}

  // Binds `field` to --kebab-name, --snake_name (plus `aliases`, full flag spellings) and the JSON
  // key `section`.`name`.
  template <typename T>
  void bind(const std::string& section, const std::string& name, T* field, const std::string& help,
            const std::vector<std::string>& aliases = {}) {
    auto* opt = cmd_.add_option(flag_names(name, aliases), *field, help)->capture_default_str();
    add(section, name, opt, [field](const nlohmann::json& j) { *field = j.get<T>(); },
        [field] { return nlohmann::json(*field); });
  }
  // A boolean switch: --name (sets true), and --name=false / --name 0 as the reference's int flags.
  void bind_switch(const std::string& section, const std::string& name, bool* field, const std::string& help,
                   const std::vector<std::string>& aliases = {});
  // A flag the reference needs but cma has one choice for: accepted when it names that choice.
  void bind_fixed(const std::string& name, const std::string& only_value, const std::string& help);
  // A reference option whose value cma ignores (e.g. --local_rank, which cma reads from the environment).
  void bind_ignored(const std::string& name, const std::string& help);
  // A reference switch with no effect here (e.g. --loose_type, the only head cma implements).
  void bind_noop_switch(const std::string& name, const std::string& help);

  // Adds --config FILE; call apply_config() after parsing.
  void add_config_flag();
  // Applies the JSON file's values to every field whose flag was not given.
  void apply_config();
  // {section: {name: value}} of every bound field, after flags and config.
  nlohmann::json resolved() const;

 private:
  struct Binding {
    std::string section, name;
    CLI::Option* option;
    std::function<void(const nlohmann::json&)> set;
    std::function<nlohmann::json()> get;
  };
  static std::string flag_names(const std::string& name, const std::vector<std::string>& aliases);
  void add(const std::string& section, const std::string& name, CLI::Option* opt,
           std::function<void(const nlohmann::json&)> set, std::function<nlohmann::json()> get);

  CLI::App& cmd_;
  std::vector<Binding> bindings_;
  std::string config_path_;
  std::vector<std::shared_ptr<std::string>> fixed_values_;
};

// Binds every option of a training or evaluation run.
void bind_run_options(ConfigBinder& b, train::RunConfig& c);
// Validates every options struct (before any work starts) and records the resolved config.
void finish_run_options(ConfigBinder& b, train::RunConfig& c);

}  // namespace cma::app
