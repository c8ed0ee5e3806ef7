// read_didemo on hand-written {train,test}_data.json and list files: descriptions grouped by
// video in order of first appearance, ids as the annotation names them, the list files'
// restriction, and errors that name the file and the entry.
#include <gtest/gtest.h>

#include <string>

#include "annotation_test_util.h"  // the readers, TempDir and the shared checks

namespace cma::testing {
namespace {

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

data::DataOptions didemo_tree(const TempDir& dir, const std::string& train, const std::string& test) {
  return layout(dir, data::Datatype::Didemo, {{"train_data.json", train}, {"test_data.json", test}});
}

TEST(Didemo, GroupsDescriptionsByVideoInOrderOfFirstAppearance) {
  TempDir dir("didemo");
  const auto s = data::read_didemo(didemo_tree(dir, kTrain, kTest));
  const PairList train = {{"10015567@N08_3655084291.mov", "the first ball is thrown"},
                          {"10015567@N08_3655084291.mov", " a dog runs  "},
                          {"日本_2.mp4", "café é 日本 🎬"},
                          {"日本_2.mp4", "café again"},
                          {"3_noext", "only one"}};
  const PairList test = {{"t2.mp4", "t two a"}, {"t2.mp4", "t two b"}, {"t1.mp4", "t one a"}};
  EXPECT_TRUE(
      splits_are(s, {train, test, data::TestProtocol::Single, dir / "train_data.json", dir / "test_data.json"}));
}

TEST(Didemo, ListFilesKeepOnlyTheirVideos) {
  TempDir dir("didemo");
  const data::DataOptions o = didemo_tree(dir, kTrain, kTest);
  write_file(dir / "train_list.txt", "3_noext\r\n\n 日本_2.mp4 \nnot_annotated.mp4\n");
  write_file(dir / "test_list.txt", "t1.mp4\n");
  const auto s = data::read_didemo(o);
  // The list's order does not matter: videos keep the annotation file's order.
  const PairList train = {{"日本_2.mp4", "café é 日本 🎬"}, {"日本_2.mp4", "café again"}, {"3_noext", "only one"}};
  const PairList test = {{"t1.mp4", "t one a"}};
  EXPECT_EQ(as_list(s.train), train);
  EXPECT_EQ(as_list(s.test), test);
}

TEST(Didemo, MissingFileNamesTheFilesTheDatatypeExpects) {
  TempDir dir("didemo");
  const data::DataOptions o = layout(dir, data::Datatype::Didemo, {{"test_data.json", kTest}});
  const std::string msg = read_error(data::read_didemo, o);
  EXPECT_TRUE(
      contains_all(msg, {dir / "train_data.json", "--datatype didemo expects train_data.json and test_data.json"}));
}

TEST(Didemo, SyntaxErrorNamesTheFileAndLine) {
  TempDir dir("didemo");
  const data::DataOptions o =
      didemo_tree(dir, "[\n{\"video\": \"a\",\n\"description\": \"x\"\n\"times\": []}\n]", kTest);
  const std::string msg = read_error(data::read_didemo, o);
  EXPECT_TRUE(contains_all(msg, {dir / "train_data.json:4:"}));
}

TEST(Didemo, WrongTopLevelTypeIsAnError) {
  TempDir dir("didemo");
  const data::DataOptions o = didemo_tree(dir, kTrain, R"({"t1.mp4": ["a"]})");
  const std::string msg = read_error(data::read_didemo, o);
  EXPECT_TRUE(contains_all(msg, {dir / "test_data.json", "expected a JSON array"}));
}

TEST(Didemo, EntryErrorsNameTheEntryAndKey) {
  TempDir dir("didemo");
  const ErrorCase cases[] = {
      {R"([{"video": "a", "description": "x"}, {"video": "b", "times": []}])",
       R"(entry 1 (video "b") has no string "description")"},
      {R"([{"video": "a", "description": ["x"]}])", R"(entry 0 (video "a") has no string "description")"},
      {R"([{"description": "x"}])", R"(entry 0 has no string "video")"},
      {R"([{"video": "a", "description": "x"}, 3])", "entry 1 is not an object"},
  };
  for (const auto& c : cases) {
    const std::string msg = read_error(data::read_didemo, didemo_tree(dir, kTrain, c.text));
    EXPECT_TRUE(contains_all(msg, {dir / "test_data.json", c.want}));
  }
}

}  // namespace
}  // namespace cma::testing
