// A reader of Python pickles that hold plain data (dicts, lists, tuples, strings, bytes, ints,
// floats, booleans, None), as MSVD's raw-captions.pkl does, without Python and without running
// anything: an opcode that would import or call (GLOBAL, REDUCE, BUILD, ...) is an error. Protocols
// 0 to 5. Torch-free.
#pragma once
#include <string>

#include <nlohmann/json.hpp>

namespace cma::data {

// The pickled value as JSON: dict -> object (keys must be strings), list and tuple -> array,
// str -> string, bytes -> string of the same bytes, int -> integer, float -> number, bool,
// None -> null. Throws cma::Error naming `path` (for messages), the byte offset and what is wrong.
nlohmann::json parse_pickle(const std::string& bytes, const std::string& path);
nlohmann::json read_pickle(const std::string& path);

}  // namespace cma::data
