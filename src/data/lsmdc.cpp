// LSMDC as the reference's LSMDC loader reads it (README.md, "Other data sets"):
// anno_path/LSMDC16_annos_training.csv -> train, anno_path/LSMDC16_challenge_1000_publictect.csv
// -> test. Despite the extension the files are tab-separated without a header, one caption a line:
//   clip_id \t start_aligned \t end_aligned \t start_extracted \t end_extracted \t sentence
// A clip id may carry several lines in the training file; each line is one pair, in file order.
#include <filesystem>
#include <sstream>
#include <string>
#include <vector>

#include "caption_readers.h"
#include "cma/core/error.h"
#include "cma/data/annotation_files.h"
#include "cma/data/caption_sets.h"

namespace cma::data {
namespace {

namespace fs = std::filesystem;

const char* kHint =
    " (--datatype lsmdc expects LSMDC16_annos_training.csv and LSMDC16_challenge_1000_publictect.csv in "
    "--anno_path)";
constexpr size_t kFields = 6;

std::vector<std::string> split_tabs(const std::string& line) {
  std::vector<std::string> fields;
  size_t begin = 0;
  for (size_t tab; (tab = line.find('\t', begin)) != std::string::npos; begin = tab + 1)
    fields.push_back(line.substr(begin, tab - begin));
  fields.push_back(line.substr(begin));
  return fields;
}

// Like the reference, each line is stripped of surrounding white space before it is split, so a
// sentence loses trailing spaces and "\r". Unlike it, blank lines are skipped rather than failed.
std::vector<Pair> read_lsmdc_file(const std::string& path) {
  std::string text = read_text_file(path, "LSMDC annotation file", kHint);
  if (text.compare(0, 3, "\xEF\xBB\xBF") == 0) text.erase(0, 3);  // UTF-8 byte-order mark
  std::istringstream in(text);
  std::vector<Pair> pairs;
  int line_no = 0;
  for (std::string line; std::getline(in, line);) {
    ++line_no;
    line = readers::strip(line);
    if (line.empty()) continue;
    std::vector<std::string> fields = split_tabs(line);
    require(fields.size() == kFields,
            path + ":" + std::to_string(line_no) + ": expected 6 tab-separated fields (clip_id, start_aligned, "
                "end_aligned, start_extracted, end_extracted, sentence), found " + std::to_string(fields.size()));
    pairs.push_back({std::move(fields[0]), std::move(fields[5])});
  }
  return pairs;
}

}  // namespace

Splits read_lsmdc(const DataOptions& o) {
  const fs::path anno(o.anno_path);
  Splits s;
  s.train_source = (anno / "LSMDC16_annos_training.csv").string();
  s.test_source = (anno / "LSMDC16_challenge_1000_publictect.csv").string();
  s.train = read_lsmdc_file(s.train_source);
  s.test = read_lsmdc_file(s.test_source);
  s.test_protocol = TestProtocol::Single;
  return s;
}

}  // namespace cma::data
