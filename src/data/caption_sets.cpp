#include "cma/data/caption_sets.h"

#include <filesystem>
#include <unordered_map>
#include <unordered_set>

#include <nlohmann/json.hpp>

#include "cma/core/atomic_file.h"
#include "cma/core/error.h"
#include "cma/data/annotation_files.h"

namespace cma::data {
namespace {

const char* kCaptionSetFormat = "cma.caption_set";
constexpr int kCaptionSetVersion = 1;
const char* kCaptionSetHint = " (--datatype caption_set reads caption_set.json in --anno_path)";

// Each video's captions joined in their order; videos in order of first appearance.
std::vector<Pair> paragraphs(const std::vector<Pair>& pairs) {
  std::vector<Pair> out;
  std::unordered_map<std::string, size_t> at;
  for (const auto& p : pairs) {
    const auto [it, fresh] = at.emplace(p.video_id, out.size());
    if (fresh) {
      out.push_back(p);
    } else {
      out[it->second].caption += " " + p.caption;
    }
  }
  return out;
}

nlohmann::json videos_json(const std::vector<Pair>& pairs) {
  nlohmann::json items = nlohmann::json::array();
  std::unordered_map<std::string, size_t> at;
  for (const auto& p : pairs) {
    const auto [it, fresh] = at.emplace(p.video_id, items.size());
    if (fresh) items.push_back({{"video", p.video_id}, {"captions", nlohmann::json::array()}});
    items[it->second]["captions"].push_back(p.caption);
  }
  return items;
}

std::vector<Pair> pairs_from_json(const nlohmann::json& doc, const char* split, const std::string& path) {
  const auto it = doc.find(split);
  require(it != doc.end() && it->is_array(), path + ": no \"" + split + "\" array of {\"video\", \"captions\"}");
  std::vector<Pair> pairs;
  for (size_t i = 0; i < it->size(); ++i) {
    const auto& item = (*it)[i];
    const std::string where = std::string(split) + "[" + std::to_string(i) + "]";
    const std::string video = json_string_at(item, "video", path, where);
    require(!video.empty(), path + ": " + where + " has an empty \"video\"");
    const auto caps = item.find("captions");
    require(caps != item.end() && caps->is_array(), path + ": " + where + " (video " + video +
                                                        ") has no \"captions\" array");
    for (size_t c = 0; c < caps->size(); ++c) {
      require((*caps)[c].is_string(), path + ": " + where + ".captions[" + std::to_string(c) + "] is not a string");
      pairs.push_back({video, (*caps)[c].get<std::string>()});
    }
  }
  return pairs;
}

// A video id names frames under --features_path: a hostile or mistaken annotation must not
// reach files outside it.
void check_video_ids(const std::vector<Pair>& pairs, const std::string& source) {
  for (const auto& p : pairs) {
    const std::filesystem::path id(p.video_id);
    bool inside = !p.video_id.empty() && id.is_relative() && p.video_id.find('\0') == std::string::npos;
    for (const auto& part : id) inside = inside && part != "..";
    require(inside, source + ": video id '" + p.video_id +
                        "' is not a relative path inside --features_path (empty, absolute, or with a .. part)");
  }
}

Splits read_layout(const DataOptions& o) {
  switch (o.datatype) {
    case Datatype::Msrvtt: return read_msrvtt(o);
    case Datatype::Msvd: return read_msvd(o);
    case Datatype::Vatex: return read_vatex(o);
    case Datatype::Didemo: return paragraph_splits(read_didemo(o));
    case Datatype::ActivityNet: return paragraph_splits(read_activitynet(o));
    case Datatype::Lsmdc: return read_lsmdc(o);
    case Datatype::Flickr30k:
    case Datatype::Coco: return read_karpathy(o);
    case Datatype::CaptionSet: return read_caption_set(o);
  }
  throw Error("unknown --datatype");
}

}  // namespace

const std::vector<std::pair<std::string, TestProtocol>>& test_protocol_names() {
  static const std::vector<std::pair<std::string, TestProtocol>> names = {
      {"single", TestProtocol::Single}, {"multi_caption", TestProtocol::MultiCaption}};
  return names;
}

Splits read_splits(const DataOptions& o) {
  Splits s = read_layout(o);
  check_video_ids(s.train, s.train_source);
  check_video_ids(s.test, s.test_source);
  if (s.test_protocol == TestProtocol::MultiCaption) group_by_video(s.test, s.test_source);  // grouped, or an error now
  return s;
}

Splits paragraph_splits(Splits s) {
  s.train = paragraphs(s.train);
  s.test = paragraphs(s.test);
  s.test_protocol = TestProtocol::Single;
  return s;
}

VideoGroups group_by_video(const std::vector<Pair>& pairs, const std::string& source) {
  VideoGroups g;
  std::unordered_set<std::string> closed;
  for (const auto& p : pairs) {
    if (!g.videos.empty() && g.videos.back() == p.video_id) {
      g.captions_per_video.back() += 1;
      continue;
    }
    require(closed.insert(p.video_id).second,
            source + ": the captions of video " + p.video_id +
                " are not adjacent; a multi-caption test split must list each video's captions together");
    g.videos.push_back(p.video_id);
    g.captions_per_video.push_back(1);
  }
  return g;
}

void write_caption_set(const std::string& path, const Splits& s) {
  std::string protocol;
  for (const auto& [name, p] : test_protocol_names()) {
    if (p == s.test_protocol) protocol = name;
  }
  const nlohmann::json doc = {{"format", kCaptionSetFormat},
                              {"version", kCaptionSetVersion},
                              {"test_protocol", protocol},
                              {"train", videos_json(s.train)},
                              {"test", videos_json(s.test)}};
  write_text_atomic(path, doc.dump(1) + "\n");
}

Splits read_caption_set(const DataOptions& o) {
  const std::string path = (std::filesystem::path(o.anno_path) / "caption_set.json").string();
  const nlohmann::json doc = parse_json_file(path, "caption-set file", kCaptionSetHint);
  const auto format = doc.is_object() ? doc.find("format") : doc.end();
  require(format != doc.end() && *format == kCaptionSetFormat,
          path + ": not a caption-set file (expected an object with \"format\": \"" + kCaptionSetFormat + "\")");
  const auto version = doc.find("version");
  require(version != doc.end() && version->is_number_integer() && version->get<int64_t>() == kCaptionSetVersion,
          path + ": \"version\" must be " + std::to_string(kCaptionSetVersion) + " (this build reads version " +
              std::to_string(kCaptionSetVersion) + ")");
  Splits s;
  const auto protocol_at = doc.find("test_protocol");
  require(protocol_at == doc.end() || protocol_at->is_string(), path + ": \"test_protocol\" must be a string");
  const std::string protocol = protocol_at == doc.end() ? "single" : protocol_at->get<std::string>();
  bool known = false;
  for (const auto& [name, p] : test_protocol_names()) {
    if (name == protocol) s.test_protocol = p, known = true;
  }
  require(known, path + ": \"test_protocol\" is '" + protocol + "', not one of single, multi_caption");
  s.train = pairs_from_json(doc, "train", path);
  s.test = pairs_from_json(doc, "test", path);
  s.train_source = s.test_source = path;
  return s;
}

}  // namespace cma::data
