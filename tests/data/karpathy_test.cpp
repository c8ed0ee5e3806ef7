// read_karpathy on hand-written dataset_flickr30k.json / dataset_coco.json: train is "train" plus
// "restval", test is "test", "val" is left out; ids with and without "filepath"; errors that name
// the file, the image and the key.
#include <gtest/gtest.h>

#include <string>

#include "annotation_test_util.h"  // the readers, TempDir and the shared checks

namespace cma::testing {
namespace {

const char* kFlickr = R"({"dataset": "flickr30k", "images": [
  {"filename": "1000092795.jpg", "imgid": 0, "split": "train", "sentids": [0, 1],
   "sentences": [{"tokens": ["two", "men"], "raw": "Two young guys.", "imgid": 0, "sentid": 0},
                 {"tokens": ["café"], "raw": "café é 日本 🎬", "imgid": 0, "sentid": 1}]},
  {"filename": "10002456.jpg", "imgid": 1, "split": "val", "sentences": [{"raw": "a val image"}]},
  {"filename": "1001.jpg", "imgid": 2, "split": "test", "sentences": [{"raw": "test a"}, {"raw": "caf\u00e9 b"}]},
  {"filename": "1000.jpg", "imgid": 3, "split": "test", "sentences": [{"raw": "test c"}]},
  {"filename": "1002.jpg", "imgid": 4, "split": "restval", "sentences": [{"raw": "restval a"}]}
]})";
const char* kCoco = R"({"images": [
  {"filepath": "val2014", "filename": "COCO_val2014_000000391895.jpg", "split": "test", "cocoid": 391895,
   "sentences": [{"raw": "A man riding a bike."}, {"raw": "日本"}]},
  {"filepath": "train2014", "filename": "COCO_train2014_000000000009.jpg", "split": "train",
   "sentences": [{"raw": "Food in a bowl."}]},
  {"filepath": "val2014", "filename": "COCO_val2014_000000000042.jpg", "split": "restval",
   "sentences": [{"raw": "A dog 🐶."}]}
]})";

data::DataOptions karpathy_tree(const TempDir& dir, data::Datatype datatype, const std::string& json) {
  const char* file = datatype == data::Datatype::Coco ? "dataset_coco.json" : "dataset_flickr30k.json";
  return layout(dir, datatype, {{file, json}});
}

TEST(Karpathy, Flickr30kTrainIsTrainPlusRestvalAndTestIsTest) {
  TempDir dir("karpathy");
  const auto s = data::read_karpathy(karpathy_tree(dir, data::Datatype::Flickr30k, kFlickr));
  const PairList train = {
      {"1000092795.jpg", "Two young guys."}, {"1000092795.jpg", "café é 日本 🎬"}, {"1002.jpg", "restval a"}};
  const PairList test = {{"1001.jpg", "test a"}, {"1001.jpg", "café b"}, {"1000.jpg", "test c"}};
  EXPECT_TRUE(splits_are(s, {train, test, data::TestProtocol::MultiCaption, dir / "dataset_flickr30k.json",
                             dir / "dataset_flickr30k.json"}));
}

TEST(Karpathy, CocoIdsIncludeTheFilepath) {
  TempDir dir("karpathy");
  const auto s = data::read_karpathy(karpathy_tree(dir, data::Datatype::Coco, kCoco));
  const PairList train = {{"train2014/COCO_train2014_000000000009.jpg", "Food in a bowl."},
                          {"val2014/COCO_val2014_000000000042.jpg", "A dog 🐶."}};
  const PairList test = {{"val2014/COCO_val2014_000000391895.jpg", "A man riding a bike."},
                         {"val2014/COCO_val2014_000000391895.jpg", "日本"}};
  EXPECT_TRUE(splits_are(
      s, {train, test, data::TestProtocol::MultiCaption, dir / "dataset_coco.json", dir / "dataset_coco.json"}));
}

TEST(Karpathy, MissingFileNamesTheFileTheDatatypeExpects) {
  TempDir dir("karpathy");
  // The other data set's file does not count.
  const data::DataOptions o = layout(dir, data::Datatype::Coco, {{"dataset_flickr30k.json", kFlickr}});
  const std::string msg = read_error(data::read_karpathy, o);
  EXPECT_TRUE(contains_all(
      msg, {dir / "dataset_coco.json", "--datatype coco expects Karpathy's dataset_coco.json in --anno_path"}));
}

TEST(Karpathy, SyntaxErrorNamesTheFileAndLine) {
  TempDir dir("karpathy");
  const data::DataOptions o =
      karpathy_tree(dir, data::Datatype::Flickr30k, "{\"images\": [\n{\"filename\": 'a.jpg'}\n]}");
  const std::string msg = read_error(data::read_karpathy, o);
  EXPECT_TRUE(contains_all(msg, {dir / "dataset_flickr30k.json:2:"}));
}

TEST(Karpathy, WrongTopLevelTypeIsAnError) {
  TempDir dir("karpathy");
  for (const char* json : {R"([{"filename": "a.jpg"}])", R"({"images": {"a.jpg": 1}})", R"({"annotations": []})"}) {
    const std::string msg = read_error(data::read_karpathy, karpathy_tree(dir, data::Datatype::Flickr30k, json));
    EXPECT_TRUE(contains_all(msg, {dir / "dataset_flickr30k.json: expected an object with an \"images\" array"}));
  }
}

TEST(Karpathy, ImageErrorsNameTheImageAndKey) {
  TempDir dir("karpathy");
  const ErrorCase cases[] = {
      {R"({"images": [{"filename": "a.jpg", "split": "test", "sentences": []}, {"split": "test"}]})",
       R"(images[1] has no string "filename")"},
      {R"({"images": [{"filename": "a.jpg", "filepath": 3, "split": "test", "sentences": []}]})",
       R"(images[0] has no string "filepath")"},
      {R"({"images": [{"filename": "a.jpg", "sentences": []}]})", R"(images[0] ("a.jpg") has no string "split")"},
      {R"({"images": [{"filename": "a.jpg", "split": "dev", "sentences": []}]})",
       R"(images[0] ("a.jpg") has split "dev" (expected "train", "restval", "val" or "test"))"},
      {R"({"images": [{"filename": "a.jpg", "split": "test"}]})", R"(images[0] ("a.jpg") has no array "sentences")"},
      {R"({"images": [{"filename": "a.jpg", "split": "val", "sentences": [{"raw": "x"}, {"tokens": []}]}]})",
       R"(images[0] ("a.jpg"): sentences[1] has no string "raw")"},
      {R"({"images": [{"filename": "a.jpg", "split": "test", "sentences": ["x"]}]})",
       R"(images[0] ("a.jpg"): sentences[0] has no string "raw")"},
      {R"({"images": [7]})", "images[0] is not an object"},
  };
  for (const auto& c : cases) {
    const std::string msg = read_error(data::read_karpathy, karpathy_tree(dir, data::Datatype::Flickr30k, c.text));
    EXPECT_TRUE(contains_all(msg, {dir / "dataset_flickr30k.json", c.want}));
  }
}

TEST(Karpathy, OtherDatatypesAreRefused) {
  data::DataOptions o;
  o.datatype = data::Datatype::Vatex;
  const std::string msg = read_error(data::read_karpathy, o);
  EXPECT_TRUE(contains_all(msg, {"flickr30k or coco"}));
}

}  // namespace
}  // namespace cma::testing
