// A reader of Python pickles that hold plain data (dicts, lists, tuples, strings, bytes, ints,
// floats, booleans, None), as MSVD's raw-captions.pkl does, without Python and without running
// anything: an opcode that would import or call (GLOBAL, REDUCE, BUILD, ...) is an error. Protocols
// 0 to 5. Torch-free.
#pragma once
#include <string>

#include <nlohmann/json.hpp>

namespace cma::data {

// The pickled value as JSON: dict -> object (keys must be strings; a later duplicate key wins, as
// in Python), list and tuple -> array, str -> string (UTF-8), bytes and Python 2 str -> string of
// the same bytes (not checked to be UTF-8), int -> integer (int64; larger ones are an error),
// float -> number (double), bool, None -> null. A value referenced twice (the memo) is copied to
// both places.
//
// Throws cma::Error "<path>: byte <offset>: <what is wrong>" for a truncated or corrupt pickle, an
// opcode that imports or calls (GLOBAL, REDUCE, ...: the message names the class it would import),
// a set or bytearray, a dict key that is not a string, or an int beyond int64. Note that protocols
// 0 to 2 pickle bytes as a call of _codecs.encode, which is refused like any other call.
// Bytes after the STOP opcode are ignored, as pickle.load ignores the rest of its stream.
// Hostile input is bounded: every length is checked against the bytes left before anything is
// allocated, nesting deeper than 1000 levels and a container that contains itself are errors, and
// shared values may expand the output to at most max(2^20, 16 x input size) values and string bytes.
// `path` is only used in messages.
nlohmann::json parse_pickle(const std::string& bytes, const std::string& path);

// parse_pickle of the file's bytes; a missing file is a cma::Error "cannot open pickle file <path>".
nlohmann::json read_pickle(const std::string& path);

}  // namespace cma::data
