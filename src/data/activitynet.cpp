// ActivityNet Captions as the reference's ActivityNet loader reads it (README.md, "Other data sets"):
// anno_path/train.json -> train, anno_path/val_1.json -> test, each a JSON object
// {"v_<id>": {"duration": d, "timestamps": [[s, e], ...], "sentences": ["...", ...]}, ...}.
// read_splits joins each video's sentences into one paragraph, as the reference does; this reader
// returns one pair per sentence, grouped by video.
//
// Video ids: the reference names each video by its annotation key with the leading "v_" removed
// (its frame files are <id>.*, without the prefix), so this reader does the same; a key without
// the prefix is kept whole. The reference takes its videos, in order, from train_ids.json and
// val_ids.json (JSON arrays of the keys); when those files exist they give the videos and their
// order here too, else every key of the annotation file is read in file order.
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
using ordered_json = nlohmann::ordered_json;

const char* kWhat = "ActivityNet annotation file";
const char* kHint =
    " (--datatype activitynet expects train.json and val_1.json, optionally with train_ids.json and "
    "val_ids.json, in --anno_path)";

// The file with its objects' keys in file order (nlohmann::json would sort them). A syntax error
// is reported by parse_json_file, which names the line.
ordered_json parse_ordered(const std::string& path) {
  const std::string text = read_text_file(path, kWhat, kHint);
  try {
    return ordered_json::parse(text);
  } catch (const nlohmann::json::exception&) {
  }
  parse_json_file(path, kWhat, kHint);  // throws naming the line
  throw Error(path + ": malformed JSON");
}

std::string video_id_of(const std::string& key) { return key.compare(0, 2, "v_") == 0 ? key.substr(2) : key; }

// The keys listed in ids_path, first occurrences only (the reference skips repeats).
std::vector<std::string> read_ids(const std::string& ids_path) {
  const nlohmann::json ids = parse_json_file(ids_path, "ActivityNet id list", kHint);
  require(ids.is_array(), ids_path + ": expected a JSON array of video keys (\"v_...\"), found " +
                              std::string(ids.type_name()));
  std::vector<std::string> keys;
  std::unordered_set<std::string> seen;
  for (size_t i = 0; i < ids.size(); ++i) {
    require(ids[i].is_string(), ids_path + ": element " + std::to_string(i) + " is not a string (found " +
                                    ids[i].type_name() + ")");
    std::string key = ids[i].get<std::string>();
    if (seen.insert(key).second) keys.push_back(std::move(key));
  }
  return keys;
}

void append_sentences(const ordered_json& entry, const std::string& key, const std::string& path,
                      std::vector<Pair>& pairs) {
  const std::string where = "video \"" + key + "\"";
  require(entry.is_object(), path + ": " + where + " is not an object {\"duration\", \"timestamps\", \"sentences\"} (found " +
                                 entry.type_name() + ")");
  const std::string video = video_id_of(key);
  // The release's sentences often start with a space; the paragraph joins them with one.
  for (const auto& sentence : readers::json_strings_at(entry, "sentences", path, where))
    pairs.push_back({video, readers::strip(sentence)});
}

std::vector<Pair> read_activitynet_file(const std::string& path, const std::string& ids_path) {
  const ordered_json data = parse_ordered(path);
  require(data.is_object(), path + ": expected a JSON object mapping video keys to {\"duration\", \"timestamps\", "
                                   "\"sentences\"} (ActivityNet Captions), found " + std::string(data.type_name()));
  std::vector<Pair> pairs;
  if (!fs::exists(ids_path)) {
    for (const auto& item : data.items()) append_sentences(item.value(), item.key(), path, pairs);
    return pairs;
  }
  const std::vector<std::string> keys = read_ids(ids_path);
  size_t found = 0;
  for (const auto& key : keys) {
    const auto it = data.find(key);
    if (it == data.end()) continue;  // the reference skips listed videos without captions
    ++found;
    append_sentences(*it, key, path, pairs);
  }
  log::info("data", "ActivityNet: {} of the {} videos listed in {} have sentences in {}", found, keys.size(),
            ids_path, path);
  return pairs;
}

}  // namespace

Splits read_activitynet(const DataOptions& o) {
  const fs::path anno(o.anno_path);
  Splits s;
  s.train_source = (anno / "train.json").string();
  s.test_source = (anno / "val_1.json").string();
  s.train = read_activitynet_file(s.train_source, (anno / "train_ids.json").string());
  s.test = read_activitynet_file(s.test_source, (anno / "val_ids.json").string());
  s.test_protocol = TestProtocol::Single;
  return s;
}

}  // namespace cma::data
