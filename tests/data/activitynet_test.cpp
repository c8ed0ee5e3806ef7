// read_activitynet on hand-written train.json / val_1.json (and the optional id lists): ids
// without "v_", sentences stripped and grouped by video, the file's key order or the id list's,
// and errors that name the file and the video.
#include <gtest/gtest.h>

#include <string>

#include "annotation_test_util.h"  // the readers, TempDir and the shared checks

namespace cma::testing {
namespace {

// Keys deliberately out of alphabetical order: the reader keeps the file's order.
const char* kTrain = R"({
  "v_zz9": {"duration": 82.73, "timestamps": [[0.28, 55.15], [13.79, 54.32]],
            "sentences": ["A young woman is seen standing in a room. ", " She dances 日本 🎬 café."]},
  "v_QOlSCBRmfWY": {"duration": 10.0, "timestamps": [[0, 5]], "sentences": ["\tcaf\u00e9 é  "]},
  "v_aa1": {"duration": 3, "timestamps": [[0, 1], [1, 2], [2, 3]], "sentences": ["one", "two", "three"]}
})";
const char* kVal = R"({
  "v_t2": {"duration": 5, "timestamps": [[0, 5]], "sentences": ["t two"]},
  "v_t1": {"duration": 5, "timestamps": [[0, 2], [2, 5]], "sentences": [" t one a", "t one b "]}
})";

data::DataOptions activitynet_tree(const TempDir& dir, const std::string& train, const std::string& val) {
  return layout(dir, data::Datatype::ActivityNet, {{"train.json", train}, {"val_1.json", val}});
}

TEST(ActivityNet, DropsThePrefixStripsSentencesAndKeepsFileOrder) {
  TempDir dir("anet");
  const auto s = data::read_activitynet(activitynet_tree(dir, kTrain, kVal));
  const PairList train = {{"zz9", "A young woman is seen standing in a room."},
                          {"zz9", "She dances 日本 🎬 café."},
                          {"QOlSCBRmfWY", "café é"},
                          {"aa1", "one"},
                          {"aa1", "two"},
                          {"aa1", "three"}};
  const PairList test = {{"t2", "t two"}, {"t1", "t one a"}, {"t1", "t one b"}};
  EXPECT_TRUE(splits_are(s, {train, test, data::TestProtocol::Single, dir / "train.json", dir / "val_1.json"}));
}

TEST(ActivityNet, KeyWithoutPrefixIsKeptWhole) {
  TempDir dir("anet");
  const auto s = data::read_activitynet(
      activitynet_tree(dir, R"({"abc": {"sentences": ["x"]}, "v_v_d": {"sentences": ["y"]}})", kVal));
  const PairList train = {{"abc", "x"}, {"v_d", "y"}};  // one prefix only
  EXPECT_EQ(as_list(s.train), train);
}

TEST(ActivityNet, IdListsGiveTheVideosAndTheirOrder) {
  TempDir dir("anet");
  const data::DataOptions o = activitynet_tree(dir, kTrain, kVal);
  // A repeat is read once, a listed video without sentences is skipped, an unlisted one is left out.
  write_file(dir / "train_ids.json", R"(["v_aa1", "v_missing", "v_zz9", "v_aa1"])");
  write_file(dir / "val_ids.json", R"(["v_t1"])");
  const auto s = data::read_activitynet(o);
  const PairList train = {{"aa1", "one"},
                          {"aa1", "two"},
                          {"aa1", "three"},
                          {"zz9", "A young woman is seen standing in a room."},
                          {"zz9", "She dances 日本 🎬 café."}};
  const PairList test = {{"t1", "t one a"}, {"t1", "t one b"}};
  EXPECT_EQ(as_list(s.train), train);
  EXPECT_EQ(as_list(s.test), test);
}

TEST(ActivityNet, MissingFileNamesTheFilesTheDatatypeExpects) {
  TempDir dir("anet");
  const data::DataOptions o = layout(dir, data::Datatype::ActivityNet, {{"train.json", kTrain}});
  const std::string msg = read_error(data::read_activitynet, o);
  EXPECT_TRUE(contains_all(msg, {dir / "val_1.json", "--datatype activitynet expects train.json and val_1.json"}));
}

TEST(ActivityNet, SyntaxErrorNamesTheFileAndLine) {
  TempDir dir("anet");
  const data::DataOptions o = activitynet_tree(dir, kTrain, "{\n\"v_a\": {\"sentences\": [\"x\"]},\n\n\"v_b\" {}\n}");
  const std::string msg = read_error(data::read_activitynet, o);
  EXPECT_TRUE(contains_all(msg, {dir / "val_1.json:4:"}));
}

TEST(ActivityNet, WrongTopLevelTypeIsAnError) {
  TempDir dir("anet");
  const data::DataOptions o = activitynet_tree(dir, R"([{"sentences": ["x"]}])", kVal);
  const std::string msg = read_error(data::read_activitynet, o);
  EXPECT_TRUE(contains_all(msg, {dir / "train.json", "expected a JSON object mapping video keys"}));
}

TEST(ActivityNet, VideoErrorsNameTheVideoAndKey) {
  TempDir dir("anet");
  const ErrorCase cases[] = {
      {R"({"v_a": {"sentences": ["x"]}, "v_b": {"duration": 3}})", R"(video "v_b" has no array "sentences")"},
      {R"({"v_a": {"sentences": "x"}})", R"(video "v_a" has no array "sentences")"},
      {R"({"v_a": {"sentences": ["x", null]}})", R"(video "v_a": "sentences"[1] is not a string)"},
      {R"({"v_a": ["x"]})", R"(video "v_a" is not an object)"},
  };
  for (const auto& c : cases) {
    const std::string msg = read_error(data::read_activitynet, activitynet_tree(dir, kTrain, c.text));
    EXPECT_TRUE(contains_all(msg, {dir / "val_1.json", c.want}));
  }
}

TEST(ActivityNet, MalformedIdListIsAnError) {
  TempDir dir("anet");
  const data::DataOptions o = activitynet_tree(dir, kTrain, kVal);
  write_file(dir / "val_ids.json", R"({"v_t1": 1})");
  EXPECT_TRUE(contains_all(read_error(data::read_activitynet, o), {dir / "val_ids.json: expected a JSON array"}));
  write_file(dir / "val_ids.json", R"(["v_t1", 2])");
  EXPECT_TRUE(
      contains_all(read_error(data::read_activitynet, o), {dir / "val_ids.json: element 1 is not a string"}));
}

}  // namespace
}  // namespace cma::testing
