// Reading annotation files with errors that name the file and the line. Torch-free.
#pragma once
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace cma::data {

// The whole file. Throws cma::Error "cannot open <what> <path><hint>" when it cannot be read.
std::string read_text_file(const std::string& path, const std::string& what, const std::string& hint = "");

// A JSON file; a syntax error names the file and its line.
nlohmann::json parse_json_file(const std::string& path, const std::string& what, const std::string& hint = "");

// Non-blank lines with surrounding white space (and \r) removed: the *_list.txt files of video ids.
std::vector<std::string> read_id_list(const std::string& path, const std::string& what, const std::string& hint = "");

// item[key] as a string; else cma::Error "<path>: <where> has no string "<key>"".
std::string json_string_at(const nlohmann::json& item, const char* key, const std::string& path,
                           const std::string& where);

}  // namespace cma::data
