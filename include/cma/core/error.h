// Errors: one exception type with an actionable message, caught once in main.
#pragma once
#include <stdexcept>
#include <string>

namespace cma {

// Thrown for anything a user can fix: bad flags, bad files, shape mismatches.
// The message says what was expected, what was found and, where possible, what to do.
class Error : public std::runtime_error {
 public:
  explicit Error(const std::string& message) : std::runtime_error(message) {}
};

// Throws cma::Error when `condition` is false. Keeps validation code one line per rule.
inline void require(bool condition, const std::string& message) {
  if (!condition) throw Error(message);
}

}  // namespace cma
