// VATEX v1.0 (README.md, "Other data sets"): anno_path/vatex_training_v1.0.json -> train,
// anno_path/vatex_validation_v1.0.json -> test, each a JSON array of
// {"videoID": "...", "enCap": ["...", ...], "chCap": [...]}. Only the English captions are read.
// The reference has no VATEX loader; this follows the public v1.0 release format.
#include <filesystem>
#include <string>
#include <unordered_set>
#include <vector>

#include "caption_readers.h"
#include "cma/core/error.h"
#include "cma/core/log.h"
#include "cma/data/annotation_files.h"
#include "cma/data/caption_sets.h"

namespace cma::data {
namespace {

namespace fs = std::filesystem;

const char* kWhat = "VATEX annotation file";
const char* kHint =
    " (--datatype vatex expects vatex_training_v1.0.json and vatex_validation_v1.0.json in --anno_path)";

// Every English caption of every video, video by video in file order.
std::vector<Pair> read_vatex_file(const std::string& path) {
  const nlohmann::json data = parse_json_file(path, kWhat, kHint);
  require(data.is_array(), path + ": expected a JSON array of {\"videoID\", \"enCap\", ...} objects (VATEX v1.0), found " +
                               std::string(data.type_name()));
  std::vector<Pair> pairs;
  for (size_t i = 0; i < data.size(); ++i) {
    const std::string entry = "entry " + std::to_string(i);
    require(data[i].is_object(), path + ": " + entry + " is not an object (found " + data[i].type_name() + ")");
    const std::string video = json_string_at(data[i], "videoID", path, entry);
    for (auto& caption : readers::json_strings_at(data[i], "enCap", path, entry + " (videoID \"" + video + "\")"))
      pairs.push_back({video, std::move(caption)});
  }
  return pairs;
}

// The common retrieval split (half of the validation videos as test) ships as a list of ids:
// when anno_path/test_list.txt exists, only its videos are tested.
std::vector<Pair> restrict_to_list(std::vector<Pair> pairs, const std::string& list_path) {
  const std::vector<std::string> ids = read_id_list(list_path, "VATEX test list");
  const std::unordered_set<std::string> keep(ids.begin(), ids.end());
  std::vector<Pair> kept;
  for (auto& p : pairs)
    if (keep.count(p.video_id)) kept.push_back(std::move(p));
  log::info("data", "VATEX: {} lists {} test videos; {} of {} validation captions kept", list_path, keep.size(),
            kept.size(), pairs.size());
  return kept;
}

}  // namespace

Splits read_vatex(const DataOptions& o) {
  const fs::path anno(o.anno_path);
  Splits s;
  s.train_source = (anno / "vatex_training_v1.0.json").string();
  s.test_source = (anno / "vatex_validation_v1.0.json").string();
  s.train = read_vatex_file(s.train_source);
  s.test = read_vatex_file(s.test_source);
  const std::string list = (anno / "test_list.txt").string();
  if (fs::exists(list)) {
    s.test = restrict_to_list(std::move(s.test), list);
    s.test_source += " restricted to " + list;
  }
  s.test_protocol = TestProtocol::MultiCaption;
  return s;
}

}  // namespace cma::data
