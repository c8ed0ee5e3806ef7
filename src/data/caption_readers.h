// Private to the readers of the public annotation layouts (vatex.cpp, didemo.cpp,
// activitynet.cpp, lsmdc.cpp, karpathy.cpp): the checks they share, so that every reader words
// a missing key or a wrong type the same way. Torch-free.
#pragma once
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "cma/core/error.h"

namespace cma::data::readers {

// s without leading and trailing ASCII white space, as Python's str.strip() leaves ASCII text.
inline std::string strip(const std::string& s) {
  const char* ws = " \t\r\n\f\v";
  const size_t b = s.find_first_not_of(ws);
  if (b == std::string::npos) return "";
  return s.substr(b, s.find_last_not_of(ws) - b + 1);
}

// item[key] when it is an array; else cma::Error "<path>: <where> has no array "<key>"".
// Templated so that ordered_json (ActivityNet keeps its file's key order) shares it.
template <class Json>
const Json& json_array_at(const Json& item, const char* key, const std::string& path, const std::string& where) {
  const auto it = item.is_object() ? item.find(key) : item.end();
  require(it != item.end() && it->is_array(), path + ": " + where + " has no array \"" + key + "\"");
  return *it;
}

// The elements of item[key] as strings; a missing key, a non-array or a non-string element is a
// cma::Error naming <where> and the element ("... "enCap"[2] is not a string").
template <class Json>
std::vector<std::string> json_strings_at(const Json& item, const char* key, const std::string& path,
                                         const std::string& where) {
  const Json& array = json_array_at(item, key, path, where);
  std::vector<std::string> out;
  out.reserve(array.size());
  for (size_t i = 0; i < array.size(); ++i) {
    require(array[i].is_string(), path + ": " + where + ": \"" + key + "\"[" + std::to_string(i) +
                                      "] is not a string (found " + array[i].type_name() + ")");
    out.push_back(array[i].template get<std::string>());
  }
  return out;
}

}  // namespace cma::data::readers
