// One binding per option: the same field is set by a CLI flag (kebab-case primary, the reference's
// snake_case accepted) or by the JSON config key (snake_case, under its section). Flags win over
// the config; unknown keys are errors that list the valid ones.
#pragma once
#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include <cmath>
#include <cstdint>
#include <functional>
#include <limits>
#include <map>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "cma/train/run_config.h"

namespace cma::app {

class ConfigBinder {
 public:
  explicit ConfigBinder(CLI::App& cmd) : cmd_(cmd) {}

  // Returned by every bind: declares what a resumed run may do with the option (default Fixed).
  class Handle {
   public:
    Handle(ConfigBinder& b, size_t index) : b_(b), index_(index) {}
    void on_resume(train::OnResume rule) { b_.bindings_[index_].on_resume = rule; }

   private:
    ConfigBinder& b_;
    size_t index_;
  };

  // Binds `field` to --kebab-name, --snake_name (plus `aliases`, full flag spellings) and the JSON
  // key `section`.`name`.
  // Numbers are never coerced: a fraction for an integer, a negative number for an unsigned one,
  // a value out of the type's range, or inf/nan is an error naming the flag or key.
  template <typename T>
  Handle bind(const std::string& section, const std::string& name, T* field, const std::string& help,
              const std::vector<std::string>& aliases = {}) {
    auto* opt = cmd_.add_option(flag_names(name, aliases), *field, help)->capture_default_str();
    if constexpr (std::is_arithmetic_v<T>) opt->check(number_check<T>());
    return add(section, name, opt, [field](const nlohmann::json& j) { *field = json_value<T>(j); },
               [field] { return nlohmann::json(*field); });
  }
  // An enum bound by the names in `choices`, on the command line and in JSON.
  template <typename E>
  Handle bind_choice(const std::string& section, const std::string& name, E* field,
                     const std::vector<std::pair<std::string, E>>& choices, const std::string& help) {
    std::map<std::string, E> by_name(choices.begin(), choices.end());
    auto* opt = cmd_.add_option(flag_names(name, {}), *field, help)->transform(CLI::CheckedTransformer(by_name));
    const auto name_of = [choices](E v) {
      for (const auto& c : choices) {
        if (c.second == v) return c.first;
      }
      return std::string("?");
    };
    opt->default_str(name_of(*field));
    return add(section, name, opt,
               [field, by_name, section, name](const nlohmann::json& j) {
                 const auto it = j.is_string() ? by_name.find(j.get<std::string>()) : by_name.end();
                 if (it == by_name.end()) throw nlohmann::json::type_error::create(302, "not a valid choice", &j);
                 *field = it->second;
               },
               [field, name_of] { return nlohmann::json(name_of(*field)); });
  }
  // A boolean switch: --name (sets true), and --name=false / --name 0 as the reference's int flags.
  Handle bind_switch(const std::string& section, const std::string& name, bool* field, const std::string& help,
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
  // "section.name" -> what a resumed run may do with it, for every bound field.
  std::map<std::string, train::OnResume> resume_rules() const;

 private:
  struct Binding {
    std::string section, name;
    CLI::Option* option;
    std::function<void(const nlohmann::json&)> set;
    std::function<nlohmann::json()> get;
    train::OnResume on_resume = train::OnResume::Fixed;
  };
  // The flag's text must be a number of type T: checked before CLI11 converts, since its unsigned
  // conversion wraps "-1" to 2^64-1.
  template <typename T>
  static CLI::Validator number_check() {
    return CLI::Validator(
        [](std::string& text) -> std::string {
          try {
            (void)json_value<T>(nlohmann::json::parse(text));
            return {};
          } catch (const std::exception&) {
            return "'" + text + "' is not " + number_kind<T>();
          }
        },
        "");
  }
  // The JSON value as T, or nlohmann's type_error (reported with the key by apply_config).
  template <typename T>
  static T json_value(const nlohmann::json& j) {
    if constexpr (std::is_same_v<T, bool> || !std::is_arithmetic_v<T>) {
      return j.get<T>();
    } else {
      const auto refuse = [&j] { throw nlohmann::json::type_error::create(302, "not " + number_kind<T>(), &j); };
      if (!j.is_number()) refuse();
      if constexpr (std::is_floating_point_v<T>) {
        const double v = j.get<double>();  // a JSON number is finite; "inf" on a flag does not parse
        if (!std::isfinite(v) || std::fabs(v) > std::numeric_limits<T>::max()) refuse();
        return static_cast<T>(v);
      } else {
        if (j.is_number_float()) refuse();  // 8.7 or 1e10 for an integer
        if (j.is_number_unsigned()) {
          if (j.get<uint64_t>() > static_cast<uint64_t>(std::numeric_limits<T>::max())) refuse();
        } else {
          const int64_t v = j.get<int64_t>();
          if (v < 0 && std::is_unsigned_v<T>) refuse();
          if (std::is_signed_v<T> && (v < static_cast<int64_t>(std::numeric_limits<T>::min()) ||
                                      v > static_cast<int64_t>(std::numeric_limits<T>::max())))
            refuse();
        }
        return j.get<T>();
      }
    }
  }
  template <typename T>
  static std::string number_kind() {
    if constexpr (std::is_floating_point_v<T>) return "a finite number";
    if constexpr (std::is_unsigned_v<T>) return "a whole number from 0 to " + std::to_string(std::numeric_limits<T>::max());
    return "a whole number from " + std::to_string(std::numeric_limits<T>::min()) + " to " +
           std::to_string(std::numeric_limits<T>::max());
  }
  static std::string flag_names(const std::string& name, const std::vector<std::string>& aliases);
  Handle add(const std::string& section, const std::string& name, CLI::Option* opt,
             std::function<void(const nlohmann::json&)> set, std::function<nlohmann::json()> get);

  CLI::App& cmd_;
  std::vector<Binding> bindings_;
  std::string config_path_;
  std::vector<std::shared_ptr<std::string>> fixed_values_;
};

// The model's options (weights, adapters, head, precision): train, eval and info.
void bind_model_options(ConfigBinder& b, model::ModelOptions& m);
// Where the frames come from (annotations, frame folders, the cache, decoding threads): train,
// eval and prepare.
void bind_frame_options(ConfigBinder& b, data::DataOptions& d);
// Binds every option of a training or evaluation run.
void bind_run_options(ConfigBinder& b, train::RunConfig& c);
// Validates every options struct (before any work starts) and records the resolved config.
void finish_run_options(ConfigBinder& b, train::RunConfig& c);

}  // namespace cma::app
