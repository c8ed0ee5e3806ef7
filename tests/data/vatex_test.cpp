// read_vatex on hand-written VATEX v1.0 files: English captions only, file order, the optional
// test list, and errors that name the file and the entry.
#include <gtest/gtest.h>

#include <string>

#include "annotation_test_util.h"
#include "cma/data/caption_sets.h"
#include "test_tmp.h"

namespace {

using cma::data::DataOptions;
using cma::data::TestProtocol;
using cma::testing::as_list;
using cma::testing::error_of;
using cma::testing::PairList;
using cma::testing::TempDir;
using cma::testing::write_file;

const char* kTrain = R"([
  {"videoID": "Ptf_2VRj-V0_000122_000132", "enCap": ["a man cooks", "café au lait é"], "chCap": ["一个人在做饭"]},
  {"videoID": "zz_000001_000011", "enCap": ["日本 の 料理", "a dog 🐶 runs", "caf\u00e9 \ud83c\udfac"], "chCap": []}
])";
const char* kTest = R"([
  {"videoID": "v2", "enCap": ["two a", "two b"], "chCap": ["二"]},
  {"videoID": "v1", "enCap": ["one a"], "chCap": []},
  {"videoID": "v3", "enCap": ["three a", "three b"]}
])";

DataOptions vatex_tree(const TempDir& dir, const std::string& train, const std::string& test) {
  write_file(dir / "vatex_training_v1.0.json", train);
  write_file(dir / "vatex_validation_v1.0.json", test);
  DataOptions o;
  o.datatype = cma::data::Datatype::Vatex;
  o.anno_path = dir.path();
  return o;
}

TEST(Vatex, ReadsEveryEnglishCaptionInFileOrder) {
  TempDir dir("vatex");
  const auto s = cma::data::read_vatex(vatex_tree(dir, kTrain, kTest));
  const PairList train = {{"Ptf_2VRj-V0_000122_000132", "a man cooks"},
                          {"Ptf_2VRj-V0_000122_000132", "café au lait é"},
                          {"zz_000001_000011", "日本 の 料理"},
                          {"zz_000001_000011", "a dog 🐶 runs"},
                          {"zz_000001_000011", "café 🎬"}};
  const PairList test = {{"v2", "two a"}, {"v2", "two b"}, {"v1", "one a"}, {"v3", "three a"}, {"v3", "three b"}};
  EXPECT_EQ(as_list(s.train), train);
  EXPECT_EQ(as_list(s.test), test);
  EXPECT_EQ(s.test_protocol, TestProtocol::MultiCaption);
  EXPECT_EQ(s.train_source, dir / "vatex_training_v1.0.json");
  EXPECT_EQ(s.test_source, dir / "vatex_validation_v1.0.json");
}

TEST(Vatex, TestListRestrictsTheTestVideos) {
  TempDir dir("vatex");
  const DataOptions o = vatex_tree(dir, kTrain, kTest);
  write_file(dir / "test_list.txt", "v3\r\n\n  v2  \n");
  const auto s = cma::data::read_vatex(o);
  const PairList test = {{"v2", "two a"}, {"v2", "two b"}, {"v3", "three a"}, {"v3", "three b"}};
  EXPECT_EQ(as_list(s.test), test);
  EXPECT_EQ(s.train.size(), 5u);  // the list does not touch training
  EXPECT_NE(s.test_source.find("test_list.txt"), std::string::npos) << s.test_source;
}

TEST(Vatex, MissingFileNamesTheFilesTheDatatypeExpects) {
  TempDir dir("vatex");
  write_file(dir / "vatex_training_v1.0.json", kTrain);
  DataOptions o;
  o.anno_path = dir.path();
  const std::string msg = error_of([&] { cma::data::read_vatex(o); });
  EXPECT_NE(msg.find(dir / "vatex_validation_v1.0.json"), std::string::npos) << msg;
  EXPECT_NE(msg.find("--datatype vatex"), std::string::npos) << msg;
  EXPECT_NE(msg.find("--anno_path"), std::string::npos) << msg;
}

TEST(Vatex, SyntaxErrorNamesTheFileAndLine) {
  TempDir dir("vatex");
  const DataOptions o = vatex_tree(dir, kTrain, "[\n  {\"videoID\": \"v1\",\n   \"enCap\": [\"a\",]}\n]");
  const std::string msg = error_of([&] { cma::data::read_vatex(o); });
  EXPECT_NE(msg.find(dir / "vatex_validation_v1.0.json:3:"), std::string::npos) << msg;
}

TEST(Vatex, WrongTopLevelTypeIsAnError) {
  TempDir dir("vatex");
  const DataOptions o = vatex_tree(dir, R"({"videoID": "v1", "enCap": []})", kTest);
  const std::string msg = error_of([&] { cma::data::read_vatex(o); });
  EXPECT_NE(msg.find(dir / "vatex_training_v1.0.json"), std::string::npos) << msg;
  EXPECT_NE(msg.find("expected a JSON array"), std::string::npos) << msg;
}

TEST(Vatex, EntryErrorsNameTheEntryAndKey) {
  TempDir dir("vatex");
  struct Case {
    const char* json;
    const char* want;
  } cases[] = {
      {R"([{"videoID": "v1", "enCap": ["a"]}, {"videoID": "v2"}])", R"(entry 1 (videoID "v2") has no array "enCap")"},
      {R"([{"videoID": "v1", "enCap": "a"}])", R"(entry 0 (videoID "v1") has no array "enCap")"},
      {R"([{"videoID": "v1", "enCap": ["a", 7]}])", R"(entry 0 (videoID "v1"): "enCap"[1] is not a string)"},
      {R"([{"enCap": ["a"]}])", R"(entry 0 has no string "videoID")"},
      {R"([{"videoID": 12, "enCap": ["a"]}])", R"(entry 0 has no string "videoID")"},
      {R"(["v1"])", "entry 0 is not an object"},
  };
  for (const auto& c : cases) {
    const DataOptions o = vatex_tree(dir, kTrain, c.json);
    const std::string msg = error_of([&] { cma::data::read_vatex(o); });
    EXPECT_NE(msg.find(dir / "vatex_validation_v1.0.json"), std::string::npos) << msg;
    EXPECT_NE(msg.find(c.want), std::string::npos) << "want: " << c.want << "\ngot: " << msg;
  }
}

}  // namespace
