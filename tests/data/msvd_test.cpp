// The MSVD reader (read_msvd, data/caption_sets.h) on small trees in the layout CLIP4Clip's MSVD
// loader reads: raw-captions.pkl written by CPython 3.11's pickle.dumps(captions, protocol=4),
// plus train_list.txt and test_list.txt.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "cma/core/error.h"
#include "cma/data/caption_sets.h"
#include "test_tmp.h"

namespace {

namespace fs = std::filesystem;
using namespace std::string_literals;
using cma::data::DataOptions;
using cma::data::Pair;
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

void write_file(const std::string& path, const std::string& bytes) {
  std::ofstream out(path, std::ios::binary);
  out << bytes;
  ASSERT_TRUE(out.good()) << "cannot write " << path;
}

// An MSVD annotation folder; pickle and lists can be replaced per test.
struct MsvdTree {
  TempDir dir{"msvd"};
  DataOptions options;

  explicit MsvdTree(const std::string& captions = kCaptions, const std::string& train = "vid2\nvid1\n",
                    const std::string& test = "vid3\r\n\nvid1\n") {
    write_file(dir / "raw-captions.pkl", captions);
    write_file(dir / "train_list.txt", train);
    write_file(dir / "test_list.txt", test);
    write_file(dir / "val_list.txt", "vid4\n");
    options.datatype = cma::data::Datatype::Msvd;
    options.anno_path = dir.path();
  }
  std::string path(const std::string& name) const { return dir / name; }
};

// The message of the cma::Error that reading `tree` throws, or a failure when it throws nothing.
std::string read_error(const MsvdTree& tree) {
  try {
    cma::data::read_msvd(tree.options);
  } catch (const cma::Error& e) {
    return e.what();
  }
  ADD_FAILURE() << "expected a cma::Error";
  return "";
}

bool contains(const std::string& s, const std::string& part) { return s.find(part) != std::string::npos; }

std::vector<std::pair<std::string, std::string>> as_tuples(const std::vector<Pair>& pairs) {
  std::vector<std::pair<std::string, std::string>> out;
  for (const auto& p : pairs) out.emplace_back(p.video_id, p.caption);
  return out;
}

TEST(MsvdReader, TrainInListOrderTestGroupedByVideo) {
  const MsvdTree tree;
  const cma::data::Splits s = cma::data::read_msvd(tree.options);
  using Tuples = std::vector<std::pair<std::string, std::string>>;
  EXPECT_EQ(as_tuples(s.train), (Tuples{{"vid2", "dog runs"}, {"vid1", "a café scene"}, {"vid1", "日本 語"}}));
  EXPECT_EQ(as_tuples(s.test), (Tuples{{"vid3", "emoji 😀"},
                                       {"vid3", "already a string"},
                                       {"vid1", "a café scene"},
                                       {"vid1", "日本 語"}}));
  EXPECT_EQ(s.test_protocol, cma::data::TestProtocol::MultiCaption);
  EXPECT_TRUE(contains(s.train_source, tree.path("train_list.txt"))) << s.train_source;
  EXPECT_TRUE(contains(s.train_source, tree.path("raw-captions.pkl"))) << s.train_source;
  EXPECT_TRUE(contains(s.test_source, tree.path("test_list.txt"))) << s.test_source;
}

TEST(MsvdReader, MissingFilesAreNamed) {
  for (const char* name : {"raw-captions.pkl", "train_list.txt", "test_list.txt"}) {
    const MsvdTree tree;
    fs::remove(tree.path(name));
    const std::string message = read_error(tree);
    EXPECT_TRUE(contains(message, "cannot open MSVD")) << message;
    EXPECT_TRUE(contains(message, tree.path(name))) << message;
    EXPECT_TRUE(contains(message, "--datatype msvd expects raw-captions.pkl")) << message;
  }
}

TEST(MsvdReader, ListedVideoWithoutCaptions) {
  const MsvdTree tree(kCaptions, "vid2\nvid9\n");
  const std::string message = read_error(tree);
  EXPECT_TRUE(contains(message, tree.path("train_list.txt") + ": video 'vid9' has no entry in " +
                                    tree.path("raw-captions.pkl")))
      << message;
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
    EXPECT_TRUE(contains(message, tree.path("raw-captions.pkl") + c.problem)) << message;
  }
}

TEST(MsvdReader, TestVideoListedTwice) {
  const MsvdTree tree(kCaptions, "vid2\n", "vid1\nvid3\nvid1\n");
  const std::string message = read_error(tree);
  EXPECT_TRUE(contains(message, tree.path("test_list.txt") + ": video 'vid1' is listed twice")) << message;
}

}  // namespace
