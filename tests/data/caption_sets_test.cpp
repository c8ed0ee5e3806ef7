// The caption-set form: paragraphs, grouping by video, video-id checks, our caption_set.json, and
// frames found wherever a data set keeps them.
#include "cma/data/caption_sets.h"

#include <gtest/gtest.h>

#include <filesystem>

#include "cma/core/error.h"
#include "cma/data/msrvtt.h"
#include "annotation_test_util.h"
#include "test_tmp.h"

namespace {

namespace fs = std::filesystem;
using cma::data::DataOptions;
using cma::data::Datatype;
using cma::data::Pair;
using cma::data::Splits;
using cma::data::TestProtocol;
using cma::testing::contains_all;
using cma::testing::error_of;
using cma::testing::layout;
using cma::testing::read_error;
using cma::testing::TempDir;
using cma::testing::write_file;

bool same_pairs(const std::vector<Pair>& a, const std::vector<Pair>& b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (a[i].video_id != b[i].video_id || a[i].caption != b[i].caption) return false;
  }
  return true;
}

DataOptions caption_set_options(const TempDir& dir) {
  DataOptions o = layout(dir, Datatype::CaptionSet, {});  // the tests write caption_set.json themselves
  o.features_path = dir / "frames";
  return o;
}

TEST(CaptionSets, ParagraphsJoinEachVideosCaptionsInFirstAppearanceOrder) {
  Splits s;
  s.train = {{"b", "one"}, {"a", "x"}, {"b", "two"}, {"a", "y é"}, {"b", "three"}};
  s.test = {{"t", "only"}};
  s.test_protocol = TestProtocol::MultiCaption;
  const Splits p = cma::data::paragraph_splits(s);
  EXPECT_TRUE(same_pairs(p.train, {{"b", "one two three"}, {"a", "x y é"}}));
  EXPECT_TRUE(same_pairs(p.test, {{"t", "only"}}));
  EXPECT_EQ(p.test_protocol, TestProtocol::Single);
}

TEST(CaptionSets, GroupByVideoCountsAdjacentCaptionsAndRejectsScatteredOnes) {
  const auto g = cma::data::group_by_video({{"a", "1"}, {"a", "2"}, {"b", "3"}, {"c", "4"}, {"c", "5"}, {"c", "6"}},
                                           "test.json");
  EXPECT_EQ(g.videos, (std::vector<std::string>{"a", "b", "c"}));
  EXPECT_EQ(g.captions_per_video, (std::vector<int64_t>{2, 1, 3}));
  const std::string msg =
      error_of([] { cma::data::group_by_video({{"a", "1"}, {"b", "2"}, {"a", "3"}}, "test.json"); });
  EXPECT_TRUE(contains_all(msg, {"test.json", "video a"}));
}

TEST(CaptionSets, FileRoundTripsBothSplitsAndTheProtocol) {
  TempDir dir("capset");
  Splits s;
  s.train = {{"v1", "a cat 🐈"}, {"v2", "日本の犬"}, {"v1", "another"}};
  s.test = {{"t1", "x"}, {"t1", "y"}, {"t2", "z"}};
  s.test_protocol = TestProtocol::MultiCaption;
  cma::data::write_caption_set(dir / "caption_set.json", s);
  const Splits r = cma::data::read_splits(caption_set_options(dir));
  // Training pairs come back video by video (the file groups them).
  EXPECT_TRUE(same_pairs(r.train, {{"v1", "a cat 🐈"}, {"v1", "another"}, {"v2", "日本の犬"}}));
  EXPECT_TRUE(same_pairs(r.test, s.test));
  EXPECT_EQ(r.test_protocol, TestProtocol::MultiCaption);
  EXPECT_EQ(r.test_source, dir / "caption_set.json");
}

TEST(CaptionSets, MalformedFilesNameTheFileAndTheEntry) {
  TempDir dir("capset_bad");
  const auto o = caption_set_options(dir);
  const std::string file = dir / "caption_set.json";
  const auto error_for = [&](const std::string& text) {
    write_file(file, text);
    return read_error(cma::data::read_splits, o);
  };
  const std::string head = R"({"format": "cma.caption_set", "version": 1, )";
  EXPECT_TRUE(contains_all(read_error(cma::data::read_splits, o), {"--datatype caption_set"}));
  EXPECT_TRUE(contains_all(error_for("{\n\"format\": "), {file + ":2: malformed JSON"}));
  EXPECT_TRUE(contains_all(error_for(R"({"format": "other"})"), {"not a caption-set file"}));
  EXPECT_TRUE(contains_all(error_for(R"({"format": "cma.caption_set", "version": 7})"), {"\"version\" must be 1"}));
  EXPECT_TRUE(contains_all(error_for(head + R"("test_protocol": "both", "train": [], "test": []})"), {"'both'"}));
  EXPECT_TRUE(contains_all(error_for(head + R"("train": [], "tests": []})"), {"no \"test\" array"}));
  EXPECT_TRUE(contains_all(error_for(head + R"("train": [{"video": "v", "captions": ["a", 3]}], "test": []})"),
                           {"train[0].captions[1] is not a string"}));
  EXPECT_TRUE(contains_all(error_for(head + R"("train": [{"captions": ["a"]}], "test": []})"),
                           {"train[0] has no string \"video\""}));
  const std::string scattered = error_for(
      head + R"("test_protocol": "multi_caption", "train": [], "test": [{"video": "a", "captions": ["1"]},
               {"video": "b", "captions": ["2"]}, {"video": "a", "captions": ["3"]}]})");
  EXPECT_TRUE(contains_all(scattered, {"not adjacent"}));
}

TEST(CaptionSets, VideoIdsMustStayInsideTheFeaturesFolder) {
  TempDir dir("capset_ids");
  for (const std::string id : {"../outside", "/etc/passwd.jpg", "a/../../b"}) {
    Splits s;
    s.train = {{"ok", "fine"}};
    s.test = {{id, "caption"}};
    cma::data::write_caption_set(dir / "caption_set.json", s);
    const std::string msg = read_error(cma::data::read_splits, caption_set_options(dir));
    EXPECT_TRUE(contains_all(msg, {"is not a relative path inside --features_path"})) << id;
  }
}

TEST(CaptionSets, FramesAreFoundInMp4FoldersPlainFoldersOrOneImage) {
  TempDir dir("capset_frames");
  DataOptions o;
  o.features_path = dir / "frames";
  write_file(dir / "frames/v1.mp4/b.jpg", "x");
  write_file(dir / "frames/v1.mp4/a.jpg", "x");
  write_file(dir / "frames/v1/ignored.jpg", "x");  // the .mp4 folder comes first
  write_file(dir / "frames/v2/0001.png", "x");
  write_file(dir / "frames/val2014/img 3.jpg", "x");
  write_file(dir / "frames/notes.txt", "x");
  auto f = cma::data::find_frame_files(o, "v1");
  EXPECT_EQ(f.where, dir / "frames/v1.mp4");
  EXPECT_EQ(f.paths, (std::vector<std::string>{dir / "frames/v1.mp4/a.jpg", dir / "frames/v1.mp4/b.jpg"}));
  f = cma::data::find_frame_files(o, "v2");
  EXPECT_EQ(f.paths, (std::vector<std::string>{dir / "frames/v2/0001.png"}));
  f = cma::data::find_frame_files(o, "val2014/img 3.jpg");
  EXPECT_EQ(f.paths, (std::vector<std::string>{dir / "frames/val2014/img 3.jpg"}));
  EXPECT_TRUE(cma::data::find_frame_files(o, "notes.txt").where.empty()) << "not an image";
  EXPECT_TRUE(cma::data::find_frame_files(o, "missing").where.empty());
}

}  // namespace
