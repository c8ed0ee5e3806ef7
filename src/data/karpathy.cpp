// Flickr30K and MSCOCO in Karpathy's split files (README.md, "Other data sets"): anno_path/dataset_flickr30k.json
// or anno_path/dataset_coco.json, one object {"images": [{"filename": "...", "filepath": "..."
// (COCO only), "split": "train" | "val" | "test" | "restval", "sentences": [{"raw": "...",
// "tokens": [...]}, ...]}, ...]}. Each image is a one-frame clip named "filepath/filename" (or
// "filename"), which the frame source finds as the image file features_path/<id>.
#include <filesystem>
#include <string>
#include <vector>

#include "caption_readers.h"
#include "cma/core/error.h"
#include "cma/data/annotation_files.h"
#include "cma/data/caption_sets.h"

namespace cma::data {
namespace {

namespace fs = std::filesystem;

// Where an image's sentences go: train, test, or nowhere (val).
std::vector<Pair>* split_of(const std::string& split, Splits& s, const std::string& path, const std::string& where) {
  // "restval" is the part of COCO's val2014 outside Karpathy's 5k val and 5k test images; the
  // standard Karpathy training set (113k images) is train plus restval.
  if (split == "train" || split == "restval") return &s.train;
  if (split == "test") return &s.test;
  require(split == "val", path + ": " + where + " has split \"" + split +
                              "\" (expected \"train\", \"restval\", \"val\" or \"test\")");
  return nullptr;
}

void read_image(const nlohmann::json& image, size_t i, const std::string& path, Splits& s) {
  std::string where = "images[" + std::to_string(i) + "]";
  require(image.is_object(), path + ": " + where + " is not an object (found " + image.type_name() + ")");
  std::string id = json_string_at(image, "filename", path, where);
  if (image.contains("filepath")) id = json_string_at(image, "filepath", path, where) + "/" + id;
  where += " (\"" + id + "\")";
  std::vector<Pair>* pairs = split_of(json_string_at(image, "split", path, where), s, path, where);
  const nlohmann::json& sentences = readers::json_array_at(image, "sentences", path, where);
  for (size_t j = 0; j < sentences.size(); ++j) {
    std::string raw = json_string_at(sentences[j], "raw", path, where + ": sentences[" + std::to_string(j) + "]");
    if (pairs) pairs->push_back({id, std::move(raw)});
  }
}

}  // namespace

Splits read_karpathy(const DataOptions& o) {
  require(o.datatype == Datatype::Flickr30k || o.datatype == Datatype::Coco,
          "read_karpathy: --datatype must be flickr30k or coco");
  const bool coco = o.datatype == Datatype::Coco;
  const std::string name = coco ? "dataset_coco.json" : "dataset_flickr30k.json";
  const std::string path = (fs::path(o.anno_path) / name).string();
  const std::string hint = std::string(" (--datatype ") + (coco ? "coco" : "flickr30k") + " expects Karpathy's " +
                           name + " in --anno_path)";
  const nlohmann::json data = parse_json_file(path, "Karpathy split file", hint);
  require(data.is_object() && data.contains("images") && data["images"].is_array(),
          path + ": expected an object with an \"images\" array (Karpathy's " + name + ")");
  Splits s;
  s.train_source = path;
  s.test_source = path;
  const nlohmann::json& images = data["images"];
  for (size_t i = 0; i < images.size(); ++i) read_image(images[i], i, path, s);
  s.test_protocol = TestProtocol::MultiCaption;
  return s;
}

}  // namespace cma::data
