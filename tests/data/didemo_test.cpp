// read_didemo on hand-written {train,test}_data.json and list files: descriptions grouped by
// video in order of first appearance, ids as the annotation names them, the list files'
// restriction, and errors that name the file and the entry.
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

// Moments of two videos interleaved, as in the release (one entry per annotated moment).
const char* kTrain = R"([
  {"video": "10015567@N08_3655084291.mov", "description": "the first ball is thrown", "times": [[0, 0], [0, 1]], "annotation_id": 1},
  {"video": "日本_2.mp4", "description": "café é 日本 🎬", "times": [[2, 2]]},
  {"video": "10015567@N08_3655084291.mov", "description": " a dog runs  ", "times": [[3, 4]]},
  {"video": "3_noext", "description": "only one", "times": [[1, 1]]},
  {"video": "日本_2.mp4", "description": "caf\u00e9 again", "times": [[5, 5]]}
])";
const char* kTest = R"([
  {"video": "t2.mp4", "description": "t two a", "times": [[0, 0]]},
  {"video": "t1.mp4", "description": "t one a", "times": [[1, 1]]},
  {"video": "t2.mp4", "description": "t two b", "times": [[2, 2]]}
])";

DataOptions didemo_tree(const TempDir& dir, const std::string& train, const std::string& test) {
  write_file(dir / "train_data.json", train);
  write_file(dir / "test_data.json", test);
  DataOptions o;
  o.datatype = cma::data::Datatype::Didemo;
  o.anno_path = dir.path();
  return o;
}

TEST(Didemo, GroupsDescriptionsByVideoInOrderOfFirstAppearance) {
  TempDir dir("didemo");
  const auto s = cma::data::read_didemo(didemo_tree(dir, kTrain, kTest));
  const PairList train = {{"10015567@N08_3655084291.mov", "the first ball is thrown"},
                          {"10015567@N08_3655084291.mov", " a dog runs  "},
                          {"日本_2.mp4", "café é 日本 🎬"},
                          {"日本_2.mp4", "café again"},
                          {"3_noext", "only one"}};
  const PairList test = {{"t2.mp4", "t two a"}, {"t2.mp4", "t two b"}, {"t1.mp4", "t one a"}};
  EXPECT_EQ(as_list(s.train), train);
  EXPECT_EQ(as_list(s.test), test);
  EXPECT_EQ(s.test_protocol, TestProtocol::Single);
  EXPECT_EQ(s.train_source, dir / "train_data.json");
  EXPECT_EQ(s.test_source, dir / "test_data.json");
}

TEST(Didemo, ListFilesKeepOnlyTheirVideos) {
  TempDir dir("didemo");
  const DataOptions o = didemo_tree(dir, kTrain, kTest);
  write_file(dir / "train_list.txt", "3_noext\r\n\n 日本_2.mp4 \nnot_annotated.mp4\n");
  write_file(dir / "test_list.txt", "t1.mp4\n");
  const auto s = cma::data::read_didemo(o);
  // The list's order does not matter: videos keep the annotation file's order.
  const PairList train = {{"日本_2.mp4", "café é 日本 🎬"}, {"日本_2.mp4", "café again"}, {"3_noext", "only one"}};
  const PairList test = {{"t1.mp4", "t one a"}};
  EXPECT_EQ(as_list(s.train), train);
  EXPECT_EQ(as_list(s.test), test);
}

TEST(Didemo, MissingFileNamesTheFilesTheDatatypeExpects) {
  TempDir dir("didemo");
  write_file(dir / "test_data.json", kTest);
  DataOptions o;
  o.anno_path = dir.path();
  const std::string msg = error_of([&] { cma::data::read_didemo(o); });
  EXPECT_NE(msg.find(dir / "train_data.json"), std::string::npos) << msg;
  EXPECT_NE(msg.find("--datatype didemo expects train_data.json and test_data.json"), std::string::npos) << msg;
}

TEST(Didemo, SyntaxErrorNamesTheFileAndLine) {
  TempDir dir("didemo");
  const DataOptions o = didemo_tree(dir, "[\n{\"video\": \"a\",\n\"description\": \"x\"\n\"times\": []}\n]", kTest);
  const std::string msg = error_of([&] { cma::data::read_didemo(o); });
  EXPECT_NE(msg.find(dir / "train_data.json:4:"), std::string::npos) << msg;
}

TEST(Didemo, WrongTopLevelTypeIsAnError) {
  TempDir dir("didemo");
  const DataOptions o = didemo_tree(dir, kTrain, R"({"t1.mp4": ["a"]})");
  const std::string msg = error_of([&] { cma::data::read_didemo(o); });
  EXPECT_NE(msg.find(dir / "test_data.json"), std::string::npos) << msg;
  EXPECT_NE(msg.find("expected a JSON array"), std::string::npos) << msg;
}

TEST(Didemo, EntryErrorsNameTheEntryAndKey) {
  TempDir dir("didemo");
  struct Case {
    const char* json;
    const char* want;
  } cases[] = {
      {R"([{"video": "a", "description": "x"}, {"video": "b", "times": []}])",
       R"(entry 1 (video "b") has no string "description")"},
      {R"([{"video": "a", "description": ["x"]}])", R"(entry 0 (video "a") has no string "description")"},
      {R"([{"description": "x"}])", R"(entry 0 has no string "video")"},
      {R"([{"video": "a", "description": "x"}, 3])", "entry 1 is not an object"},
  };
  for (const auto& c : cases) {
    const DataOptions o = didemo_tree(dir, kTrain, c.json);
    const std::string msg = error_of([&] { cma::data::read_didemo(o); });
    EXPECT_NE(msg.find(dir / "test_data.json"), std::string::npos) << msg;
    EXPECT_NE(msg.find(c.want), std::string::npos) << "want: " << c.want << "\ngot: " << msg;
  }
}

}  // namespace
