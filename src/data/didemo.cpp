// DiDeMo as the reference's DiDeMo loader reads it (README.md, "Other data sets"): anno_path/train_data.json
// -> train, anno_path/test_data.json -> test, each a JSON array of moment annotations
// {"video": "...", "description": "...", "times": [[s, e], ...], ...}. read_splits joins each
// video's descriptions into one paragraph, as the reference does; this reader returns one pair per
// description, a video's descriptions adjacent and in file order, videos in order of first
// appearance (the reference's dict order).
#include <filesystem>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "cma/core/error.h"
#include "cma/core/log.h"
#include "cma/data/annotation_files.h"
#include "cma/data/caption_sets.h"

namespace cma::data {
namespace {

namespace fs = std::filesystem;

const char* kWhat = "DiDeMo annotation file";
const char* kHint =
    " (--datatype didemo expects train_data.json and test_data.json, optionally with train_list.txt and "
    "test_list.txt, in --anno_path)";

// The descriptions of each video in `json_path`, grouped by video. When `list_path` exists, only
// its videos are kept, as the reference keeps only the videos of its {train,test}_list.txt (the
// videos that could be downloaded). Without a list every annotated video is kept; one without
// frames is then skipped or reported by the check before the run (data/video_check.h).
std::vector<Pair> read_didemo_file(const std::string& json_path, const std::string& list_path) {
  const nlohmann::json data = parse_json_file(json_path, kWhat, kHint);
  require(data.is_array(), json_path + ": expected a JSON array of {\"video\", \"description\", \"times\"} objects "
                                       "(DiDeMo's {train,test}_data.json), found " + std::string(data.type_name()));
  const bool has_list = fs::exists(list_path);
  std::unordered_set<std::string> listed;
  if (has_list)
    for (auto& id : read_id_list(list_path, "DiDeMo video list", kHint)) listed.insert(std::move(id));

  std::vector<std::string> order;  // videos in order of first appearance
  std::unordered_map<std::string, std::vector<std::string>> descriptions;
  for (size_t i = 0; i < data.size(); ++i) {
    const std::string entry = "entry " + std::to_string(i);
    require(data[i].is_object(), json_path + ": " + entry + " is not an object (found " + data[i].type_name() + ")");
    std::string video = json_string_at(data[i], "video", json_path, entry);
    std::string text = json_string_at(data[i], "description", json_path, entry + " (video \"" + video + "\")");
    if (has_list && listed.count(video) == 0) continue;
    auto [it, inserted] = descriptions.try_emplace(video);
    if (inserted) order.push_back(std::move(video));
    it->second.push_back(std::move(text));
  }
  if (has_list)
    log::info("data", "DiDeMo: {} of the {} videos listed in {} have descriptions in {}", order.size(),
              listed.size(), list_path, json_path);

  std::vector<Pair> pairs;
  for (const auto& video : order)
    for (auto& text : descriptions[video]) pairs.push_back({video, std::move(text)});
  return pairs;
}

}  // namespace

Splits read_didemo(const DataOptions& o) {
  const fs::path anno(o.anno_path);
  Splits s;
  s.train_source = (anno / "train_data.json").string();
  s.test_source = (anno / "test_data.json").string();
  s.train = read_didemo_file(s.train_source, (anno / "train_list.txt").string());
  s.test = read_didemo_file(s.test_source, (anno / "test_list.txt").string());
  s.test_protocol = TestProtocol::Single;
  return s;
}

}  // namespace cma::data
