// read_karpathy on hand-written dataset_flickr30k.json / dataset_coco.json: train is "train" plus
// "restval", test is "test", "val" is left out; ids with and without "filepath"; errors that name
// the file, the image and the key.
#include <gtest/gtest.h>

#include <string>

#include "annotation_test_util.h"
#include "cma/data/caption_sets.h"
#include "test_tmp.h"

namespace {

using cma::data::DataOptions;
using cma::data::Datatype;
using cma::data::TestProtocol;
using cma::testing::as_list;
using cma::testing::error_of;
using cma::testing::PairList;
using cma::testing::TempDir;
using cma::testing::write_file;

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

DataOptions karpathy_tree(const TempDir& dir, Datatype datatype, const std::string& json) {
  write_file(dir / (datatype == Datatype::Coco ? "dataset_coco.json" : "dataset_flickr30k.json"), json);
  DataOptions o;
  o.datatype = datatype;
  o.anno_path = dir.path();
  return o;
}

TEST(Karpathy, Flickr30kTrainIsTrainPlusRestvalAndTestIsTest) {
  TempDir dir("karpathy");
  const auto s = cma::data::read_karpathy(karpathy_tree(dir, Datatype::Flickr30k, kFlickr));
  const PairList train = {
      {"1000092795.jpg", "Two young guys."}, {"1000092795.jpg", "café é 日本 🎬"}, {"1002.jpg", "restval a"}};
  const PairList test = {{"1001.jpg", "test a"}, {"1001.jpg", "café b"}, {"1000.jpg", "test c"}};
  EXPECT_EQ(as_list(s.train), train);
  EXPECT_EQ(as_list(s.test), test);
  EXPECT_EQ(s.test_protocol, TestProtocol::MultiCaption);
  EXPECT_EQ(s.train_source, dir / "dataset_flickr30k.json");
  EXPECT_EQ(s.test_source, dir / "dataset_flickr30k.json");
}

TEST(Karpathy, CocoIdsIncludeTheFilepath) {
  TempDir dir("karpathy");
  const auto s = cma::data::read_karpathy(karpathy_tree(dir, Datatype::Coco, kCoco));
  const PairList train = {{"train2014/COCO_train2014_000000000009.jpg", "Food in a bowl."},
                          {"val2014/COCO_val2014_000000000042.jpg", "A dog 🐶."}};
  const PairList test = {{"val2014/COCO_val2014_000000391895.jpg", "A man riding a bike."},
                         {"val2014/COCO_val2014_000000391895.jpg", "日本"}};
  EXPECT_EQ(as_list(s.train), train);
  EXPECT_EQ(as_list(s.test), test);
  EXPECT_EQ(s.test_protocol, TestProtocol::MultiCaption);
  EXPECT_EQ(s.train_source, dir / "dataset_coco.json");
  EXPECT_EQ(s.test_source, dir / "dataset_coco.json");
}

TEST(Karpathy, MissingFileNamesTheFileTheDatatypeExpects) {
  TempDir dir("karpathy");
  write_file(dir / "dataset_flickr30k.json", kFlickr);  // the other data set's file does not count
  DataOptions o;
  o.datatype = Datatype::Coco;
  o.anno_path = dir.path();
  const std::string msg = error_of([&] { cma::data::read_karpathy(o); });
  EXPECT_NE(msg.find(dir / "dataset_coco.json"), std::string::npos) << msg;
  EXPECT_NE(msg.find("--datatype coco expects Karpathy's dataset_coco.json in --anno_path"), std::string::npos)
      << msg;
}

TEST(Karpathy, SyntaxErrorNamesTheFileAndLine) {
  TempDir dir("karpathy");
  const DataOptions o = karpathy_tree(dir, Datatype::Flickr30k, "{\"images\": [\n{\"filename\": 'a.jpg'}\n]}");
  const std::string msg = error_of([&] { cma::data::read_karpathy(o); });
  EXPECT_NE(msg.find(dir / "dataset_flickr30k.json:2:"), std::string::npos) << msg;
}

TEST(Karpathy, WrongTopLevelTypeIsAnError) {
  TempDir dir("karpathy");
  for (const char* json : {R"([{"filename": "a.jpg"}])", R"({"images": {"a.jpg": 1}})", R"({"annotations": []})"}) {
    const DataOptions o = karpathy_tree(dir, Datatype::Flickr30k, json);
    const std::string msg = error_of([&] { cma::data::read_karpathy(o); });
    EXPECT_NE(msg.find(dir / "dataset_flickr30k.json: expected an object with an \"images\" array"),
              std::string::npos)
        << msg;
  }
}

TEST(Karpathy, ImageErrorsNameTheImageAndKey) {
  TempDir dir("karpathy");
  struct Case {
    const char* json;
    const char* want;
  } cases[] = {
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
    const DataOptions o = karpathy_tree(dir, Datatype::Flickr30k, c.json);
    const std::string msg = error_of([&] { cma::data::read_karpathy(o); });
    EXPECT_NE(msg.find(dir / "dataset_flickr30k.json"), std::string::npos) << msg;
    EXPECT_NE(msg.find(c.want), std::string::npos) << "want: " << c.want << "\ngot: " << msg;
  }
}

TEST(Karpathy, OtherDatatypesAreRefused) {
  DataOptions o;
  o.datatype = Datatype::Vatex;
  const std::string msg = error_of([&] { cma::data::read_karpathy(o); });
  EXPECT_NE(msg.find("flickr30k or coco"), std::string::npos) << msg;
}

}  // namespace
