#include "cma/data/annotation_files.h"

#include <algorithm>
#include <fstream>
#include <sstream>

#include "cma/core/error.h"
#include "caption_readers.h"

namespace cma::data {
namespace {

// nlohmann reports the byte after the one that failed (1-based); the line holds byte - 1. Errors
// reported past the end are clamped to the last line.
int line_of_byte(const std::string& text, size_t byte) {
  const size_t end = std::min(text.size(), byte > 0 ? byte - 1 : 0);
  return 1 + static_cast<int>(std::count(text.begin(), text.begin() + static_cast<std::ptrdiff_t>(end), '\n'));
}

}  // namespace

std::string read_text_file(const std::string& path, const std::string& what, const std::string& hint) {
  std::ifstream in(path, std::ios::binary);
  require(static_cast<bool>(in), "cannot open " + what + " " + path + hint);
  std::ostringstream ss;
  ss << in.rdbuf();
  require(!in.bad(), "cannot read " + what + " " + path + hint);
  return ss.str();
}

nlohmann::json parse_json_file(const std::string& path, const std::string& what, const std::string& hint) {
  const std::string text = read_text_file(path, what, hint);
  try {
    return nlohmann::json::parse(text);
  } catch (const nlohmann::json::parse_error& e) {
    throw Error(path + ":" + std::to_string(line_of_byte(text, e.byte)) + ": malformed JSON: " + e.what());
  } catch (const nlohmann::json::out_of_range& e) {  // a number beyond a double ("1e400") is not a parse_error
    throw Error(path + ": malformed JSON: " + e.what());
  }
}

std::vector<std::string> read_id_list(const std::string& path, const std::string& what, const std::string& hint) {
  std::istringstream in(read_text_file(path, what, hint));
  std::vector<std::string> ids;
  for (std::string line; std::getline(in, line);) {
    line = readers::strip(line);
    if (!line.empty()) ids.push_back(line);
  }
  return ids;
}

std::string json_string_at(const nlohmann::json& item, const char* key, const std::string& path,
                           const std::string& where) {
  const auto it = item.is_object() ? item.find(key) : item.end();
  require(it != item.end() && it->is_string(), path + ": " + where + " has no string \"" + key + "\"");
  return it->get<std::string>();
}

}  // namespace cma::data
