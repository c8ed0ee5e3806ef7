// MSVD in the layout the reference's MSVD loader reads (README.md, "Other data sets"): anno_path/raw-captions.pkl,
// a pickled dict of video id -> captions with each caption a list of word tokens, and
// train_list.txt / test_list.txt, one video id per line. val_list.txt is not read: training uses
// the train list and evaluation the test list.
#include <filesystem>
#include <string>
#include <unordered_set>
#include <vector>

#include <nlohmann/json.hpp>

#include "cma/core/error.h"
#include "cma/core/log.h"
#include "cma/data/annotation_files.h"
#include "cma/data/caption_sets.h"
#include "cma/data/pickle.h"

namespace cma::data {
namespace {

namespace fs = std::filesystem;

const char* kHint =
    " (--datatype msvd expects raw-captions.pkl, train_list.txt and test_list.txt in --anno_path)";

// What a pickled value was in Python, for messages about raw-captions.pkl.
std::string python_type(const nlohmann::json& v) {
  switch (v.type()) {
    case nlohmann::json::value_t::object: return "a dict";
    case nlohmann::json::value_t::array: return "a list";
    case nlohmann::json::value_t::string: return "a string";
    case nlohmann::json::value_t::boolean: return "a bool";
    case nlohmann::json::value_t::null: return "None";
    case nlohmann::json::value_t::number_float: return "a float";
    default: return "an int";
  }
}

nlohmann::json read_caption_dict(const std::string& path) {
  nlohmann::json captions = parse_pickle(read_text_file(path, "MSVD caption file", kHint), path);
  require(captions.is_object(), path + ": expected a dict of video id -> list of captions (MSVD's raw-captions.pkl), "
                                       "found " + python_type(captions));
  return captions;
}

// The reference joins a caption's word tokens with single spaces. A caption stored as one string
// is taken as it is (the reference's " ".join would space out its letters).
std::string caption_text(const nlohmann::json& caption, const std::string& where) {
  if (caption.is_string()) return caption.get<std::string>();
  require(caption.is_array(), where + " is " + python_type(caption) + ", not a list of words or a string");
  std::string text;
  for (size_t w = 0; w < caption.size(); ++w) {
    require(caption[w].is_string(), where + ", word " + std::to_string(w) + " is " + python_type(caption[w]) +
                                        ", not a string");
    if (w > 0) text += ' ';
    text += caption[w].get_ref<const std::string&>();
  }
  return text;
}

// The pairs of the listed videos in list order, each video's captions in their order (so one
// video's captions are adjacent).
std::vector<Pair> listed_pairs(const std::vector<std::string>& ids, const std::string& list_path,
                               const nlohmann::json& captions, const std::string& pkl_path) {
  std::vector<Pair> pairs;
  for (const std::string& id : ids) {
    const auto entry = captions.find(id);
    require(entry != captions.end(), list_path + ": video '" + id + "' has no entry in " + pkl_path +
                                         " (every listed video needs its captions there)");
    const std::string where = pkl_path + ": entry '" + id + "'";
    require(entry->is_array(), where + " is " + python_type(*entry) + ", not a list of captions");
    for (size_t c = 0; c < entry->size(); ++c)
      pairs.push_back({id, caption_text((*entry)[c], where + ", caption " + std::to_string(c))});
  }
  return pairs;
}

// Every test video is a candidate in the multi-caption metric, found through its captions: a
// video listed twice or without captions would change the candidate set.
void check_test_videos(const std::vector<std::string>& ids, const std::string& list_path,
                       const nlohmann::json& captions, const std::string& pkl_path) {
  std::unordered_set<std::string> seen;
  for (const std::string& id : ids) {
    require(seen.insert(id).second, list_path + ": video '" + id + "' is listed twice");
    const auto entry = captions.find(id);
    const bool no_captions = entry != captions.end() && entry->is_array() && entry->empty();
    require(!no_captions, pkl_path + ": test video '" + id + "' of " + list_path + " has an empty list of captions");
  }
}

}  // namespace

Splits read_msvd(const DataOptions& o) {
  const fs::path anno(o.anno_path);
  const std::string pkl = (anno / "raw-captions.pkl").string();
  const std::string train_list = (anno / "train_list.txt").string();
  const std::string test_list = (anno / "test_list.txt").string();

  const std::vector<std::string> train_ids = read_id_list(train_list, "MSVD video list", kHint);
  const std::vector<std::string> test_ids = read_id_list(test_list, "MSVD video list", kHint);
  const nlohmann::json captions = read_caption_dict(pkl);
  check_test_videos(test_ids, test_list, captions, pkl);

  Splits s;
  s.train_source = train_list + " with " + pkl;
  s.test_source = test_list + " with " + pkl;
  s.train = listed_pairs(train_ids, train_list, captions, pkl);
  s.test = listed_pairs(test_ids, test_list, captions, pkl);
  s.test_protocol = TestProtocol::MultiCaption;
  log::info("data", "MSVD: {} training pairs of {} videos, {} test captions of {} videos", s.train.size(),
            train_ids.size(), s.test.size(), test_ids.size());
  return s;
}

}  // namespace cma::data
