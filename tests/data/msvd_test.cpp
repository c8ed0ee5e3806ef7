// The MSVD reader (read_msvd, data/caption_sets.h) on small trees in the layout CLIP4Clip's MSVD
// loader reads: raw-captions.pkl written by CPython 3.11's pickle.dumps(captions, protocol=4),
// plus train_list.txt and test_list.txt.
#include <gtest/gtest.h>

#include <filesystem>
#include <string>

#include "annotation_test_util.h"
#include "cma/data/caption_sets.h"
#include "test_tmp.h"

namespace {

namespace fs = std::filesystem;
using namespace std::string_literals;
using cma::data::DataOptions;
using cma::testing::as_list;
using cma::testing::contains_all;
using cma::testing::layout;
using cma::testing::PairList;
using cma::testing::TempDir;

// pickle.dumps({"vid1": [["a", "café", "scene"], ["日本", "語"]], "vid2": [["dog", "runs"]],
//               "vid3": [["emoji", "😀"], "already a string"], "vid4": [["unused"]]}, protocol=4)
const std::string kCaptions =
    "\x80\x04\x95\x9d\x00\x00\x00\x00\x00\x00\x00\x7d\x94\x28\x8c\x04\x76\x69\x64\x31\x94\x5d\x94\x28"
    "\x5d\x94\x28\x8c\x01\x61\x94\x8c\x05\x63\x61\x66\xc3\xa9\x94\x8c\x05\x73\x63\x65\x6e\x65\x94\x65"
    "\x5d\x94\x28\x8c\x06\xe6\x97\xa5\xe6\x9c\xac\x94\x8c\x03\xe8\xaa\x9e\x94\x65\x65\x8c\x04\x76\x69"
    "\x64\x32\x94\x5d\x94\x5d\x94\x28\x8c\x03\x64\x6f\x67\x94\x8c\x04\x72\x75\x6e\x73\x94\x65\x61\x8c"
    "\x04\x76\x69\x64\x33\x94\x5d\x94\x28\x5d\x94\x28\x8c\x05\x65\x6d\x6f\x6a\x69\x94\x8c\x04\xf0\x9f"
    "\x98\x80\x94\x65\x8c\x10\x61\x6c\x72\x65\x61\x64\x79\x20\x61\x20\x73\x74\x72\x69\x6e\x67\x94\x65"
    "\x8c\x04\x76\x69\x64\x34\x94\x5d\x94\x5d\x94\x8c\x06\x75\x6e\x75\x73\x65\x64\x94\x61\x61\x75\x2e"s;

// An MSVD annotation folder; pickle and lists can be replaced per test.
struct MsvdTree {
  TempDir dir{"msvd"};
  DataOptions options;

  explicit MsvdTree(const std::string& captions = kCaptions, const std::string& train = "vid2\nvid1\n",
                    const std::string& test = "vid3\r\n\nvid1\n") {
    options = layout(dir, cma::data::Datatype::Msvd,
                     {{"raw-captions.pkl", captions}, {"train_list.txt", train}, {"test_list.txt", test},
                      {"val_list.txt", "vid4\n"}});
  }
  std::string path(const std::string& name) const { return dir / name; }
};

// The message of the cma::Error that reading `tree` throws, or a failure when it throws nothing.
std::string read_error(const MsvdTree& tree) { return cma::testing::read_error(cma::data::read_msvd, tree.options); }

TEST(MsvdReader, TrainInListOrderTestGroupedByVideo) {
  const MsvdTree tree;
  const cma::data::Splits s = cma::data::read_msvd(tree.options);
  EXPECT_EQ(as_list(s.train), (PairList{{"vid2", "dog runs"}, {"vid1", "a café scene"}, {"vid1", "日本 語"}}));
  EXPECT_EQ(as_list(s.test), (PairList{{"vid3", "emoji 😀"},
                                       {"vid3", "already a string"},
                                       {"vid1", "a café scene"},
                                       {"vid1", "日本 語"}}));
  EXPECT_EQ(s.test_protocol, cma::data::TestProtocol::MultiCaption);
  EXPECT_TRUE(contains_all(s.train_source, {tree.path("train_list.txt"), tree.path("raw-captions.pkl")}));
  EXPECT_TRUE(contains_all(s.test_source, {tree.path("test_list.txt")}));
}

TEST(MsvdReader, MissingFilesAreNamed) {
  for (const char* name : {"raw-captions.pkl", "train_list.txt", "test_list.txt"}) {
    const MsvdTree tree;
    fs::remove(tree.path(name));
    const std::string message = read_error(tree);
    EXPECT_TRUE(
        contains_all(message, {"cannot open MSVD", tree.path(name), "--datatype msvd expects raw-captions.pkl"}));
  }
}

TEST(MsvdReader, ListedVideoWithoutCaptions) {
  const MsvdTree tree(kCaptions, "vid2\nvid9\n");
  const std::string message = read_error(tree);
  EXPECT_TRUE(contains_all(
      message, {tree.path("train_list.txt") + ": video 'vid9' has no entry in " + tree.path("raw-captions.pkl")}));
}

TEST(MsvdReader, MalformedPickleEntries) {
  struct Case {
    std::string bytes, problem;
  };
  const Case cases[] = {
      {// pickle.dumps(["vid1"], protocol=4)
       "\x80\x04\x95\x0b\x00\x00\x00\x00\x00\x00\x00\x5d\x94\x8c\x04\x76\x69\x64\x31\x94\x61\x2e"s,
       ": expected a dict of video id -> list of captions (MSVD's raw-captions.pkl), found a list"},
      {// pickle.dumps({"vid1": "x"}, protocol=4)
       "\x80\x04\x95\x0f\x00\x00\x00\x00\x00\x00\x00\x7d\x94\x8c\x04\x76\x69\x64\x31\x94\x8c\x01\x78\x94"
       "\x73\x2e"s,
       ": entry 'vid1' is a string, not a list of captions"},
      {// pickle.dumps({"vid1": [5]}, protocol=4)
       "\x80\x04\x95\x10\x00\x00\x00\x00\x00\x00\x00\x7d\x94\x8c\x04\x76\x69\x64\x31\x94\x5d\x94\x4b\x05"
       "\x61\x73\x2e"s,
       ": entry 'vid1', caption 0 is an int, not a list of words or a string"},
      {// pickle.dumps({"vid1": [["a", 1]]}, protocol=4)
       "\x80\x04\x95\x18\x00\x00\x00\x00\x00\x00\x00\x7d\x94\x8c\x04\x76\x69\x64\x31\x94\x5d\x94\x5d\x94"
       "\x28\x8c\x01\x61\x94\x4b\x01\x65\x61\x73\x2e"s,
       ": entry 'vid1', caption 0, word 1 is an int, not a string"},
      {// pickle.dumps({"vid1": []}, protocol=4), with vid1 in the test list
       "\x80\x04\x95\x0d\x00\x00\x00\x00\x00\x00\x00\x7d\x94\x8c\x04\x76\x69\x64\x31\x94\x5d\x94\x73\x2e"s,
       ": test video 'vid1' of "},
      {kCaptions.substr(0, 40), ": byte 2: truncated FRAME"},  // a cut file
  };
  for (const Case& c : cases) {
    const MsvdTree tree(c.bytes, "vid1\n", "vid1\n");
    const std::string message = read_error(tree);
    EXPECT_TRUE(contains_all(message, {tree.path("raw-captions.pkl") + c.problem}));
  }
}

TEST(MsvdReader, TestVideoListedTwice) {
  const MsvdTree tree(kCaptions, "vid2\n", "vid1\nvid3\nvid1\n");
  const std::string message = read_error(tree);
  EXPECT_TRUE(contains_all(message, {tree.path("test_list.txt") + ": video 'vid1' is listed twice"}));
}

}  // namespace
