// read_vatex on hand-written VATEX v1.0 files: English captions only, file order, the optional
// test list, and errors that name the file and the entry.
#include <gtest/gtest.h>

#include <string>

#include "annotation_test_util.h"  // the readers, TempDir and the shared checks

namespace cma::testing {
namespace {

const char* kTrain = R"([
  {"videoID": "Ptf_2VRj-V0_000122_000132", "enCap": ["a man cooks", "café au lait é"], "chCap": ["一个人在做饭"]},
  {"videoID": "zz_000001_000011", "enCap": ["日本 の 料理", "a dog 🐶 runs", "caf\u00e9 \ud83c\udfac"], "chCap": []}
])";
const char* kTest = R"([
  {"videoID": "v2", "enCap": ["two a", "two b"], "chCap": ["二"]},
  {"videoID": "v1", "enCap": ["one a"], "chCap": []},
  {"videoID": "v3", "enCap": ["three a", "three b"]}
])";

data::DataOptions vatex_tree(const TempDir& dir, const std::string& train, const std::string& test) {
  return layout(dir, data::Datatype::Vatex,
                {{"vatex_training_v1.0.json", train}, {"vatex_validation_v1.0.json", test}});
}

TEST(Vatex, ReadsEveryEnglishCaptionInFileOrder) {
  TempDir dir("vatex");
  const auto s = data::read_vatex(vatex_tree(dir, kTrain, kTest));
  const PairList train = {{"Ptf_2VRj-V0_000122_000132", "a man cooks"},
                          {"Ptf_2VRj-V0_000122_000132", "café au lait é"},
                          {"zz_000001_000011", "日本 の 料理"},
                          {"zz_000001_000011", "a dog 🐶 runs"},
                          {"zz_000001_000011", "café 🎬"}};
  const PairList test = {{"v2", "two a"}, {"v2", "two b"}, {"v1", "one a"}, {"v3", "three a"}, {"v3", "three b"}};
  EXPECT_TRUE(splits_are(s, {train, test, data::TestProtocol::MultiCaption, dir / "vatex_training_v1.0.json",
                             dir / "vatex_validation_v1.0.json"}));
}

TEST(Vatex, TestListRestrictsTheTestVideos) {
  TempDir dir("vatex");
  const data::DataOptions o = vatex_tree(dir, kTrain, kTest);
  write_file(dir / "test_list.txt", "v3\r\n\n  v2  \n");
  const auto s = data::read_vatex(o);
  const PairList test = {{"v2", "two a"}, {"v2", "two b"}, {"v3", "three a"}, {"v3", "three b"}};
  EXPECT_EQ(as_list(s.test), test);
  EXPECT_EQ(s.train.size(), 5u);  // the list does not touch training
  EXPECT_NE(s.test_source.find("test_list.txt"), std::string::npos) << s.test_source;
}

TEST(Vatex, MissingFileNamesTheFilesTheDatatypeExpects) {
  TempDir dir("vatex");
  const data::DataOptions o = layout(dir, data::Datatype::Vatex, {{"vatex_training_v1.0.json", kTrain}});
  const std::string msg = read_error(data::read_vatex, o);
  EXPECT_TRUE(contains_all(msg, {dir / "vatex_validation_v1.0.json", "--datatype vatex", "--anno_path"}));
}

TEST(Vatex, SyntaxErrorNamesTheFileAndLine) {
  TempDir dir("vatex");
  const data::DataOptions o = vatex_tree(dir, kTrain, "[\n  {\"videoID\": \"v1\",\n   \"enCap\": [\"a\",]}\n]");
  const std::string msg = read_error(data::read_vatex, o);
  EXPECT_TRUE(contains_all(msg, {dir / "vatex_validation_v1.0.json:3:"}));
}

TEST(Vatex, WrongTopLevelTypeIsAnError) {
  TempDir dir("vatex");
  const data::DataOptions o = vatex_tree(dir, R"({"videoID": "v1", "enCap": []})", kTest);
  const std::string msg = read_error(data::read_vatex, o);
  EXPECT_TRUE(contains_all(msg, {dir / "vatex_training_v1.0.json", "expected a JSON array"}));
}

TEST(Vatex, EntryErrorsNameTheEntryAndKey) {
  TempDir dir("vatex");
  const ErrorCase cases[] = {
      {R"([{"videoID": "v1", "enCap": ["a"]}, {"videoID": "v2"}])", R"(entry 1 (videoID "v2") has no array "enCap")"},
      {R"([{"videoID": "v1", "enCap": "a"}])", R"(entry 0 (videoID "v1") has no array "enCap")"},
      {R"([{"videoID": "v1", "enCap": ["a", 7]}])", R"(entry 0 (videoID "v1"): "enCap"[1] is not a string)"},
      {R"([{"enCap": ["a"]}])", R"(entry 0 has no string "videoID")"},
      {R"([{"videoID": 12, "enCap": ["a"]}])", R"(entry 0 has no string "videoID")"},
      {R"(["v1"])", "entry 0 is not an object"},
  };
  for (const auto& c : cases) {
    const std::string msg = read_error(data::read_vatex, vatex_tree(dir, kTrain, c.text));
    EXPECT_TRUE(contains_all(msg, {dir / "vatex_validation_v1.0.json", c.want}));
  }
}

}  // namespace
}  // namespace cma::testing
