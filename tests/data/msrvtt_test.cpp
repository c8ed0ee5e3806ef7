// MSR-VTT annotations, frame folders and frame sampling against the reference's rules
// (dataloader_msrvtt_retrieval_images.py, dataloader_retrieval_images.py), on synthetic trees.
#include "cma/data/msrvtt.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <memory>
#include <nlohmann/json.hpp>
#include <set>

#include "cma/core/error.h"
#include "cma/core/log.h"
#include "cma/data/image.h"
#include "annotation_test_util.h"
#include "msrvtt_tree.h"


namespace {

namespace fs = std::filesystem;
using cma::data::DataOptions;
using cma::data::Pair;
using cma::data::sample_frame_indices;
using cma::testing::error_of;
using cma::testing::TempDir;
using cma::testing::write_file;

// The three annotation files, written by hand (no frames needed).
DataOptions annotation_tree(const TempDir& dir, const std::string& json, const std::string& train_csv,
                            const std::string& test_csv) {
  write_file(dir / "anns/MSRVTT_data.json", json);
  write_file(dir / "anns/MSRVTT_train.9k.csv", train_csv);
  write_file(dir / "anns/MSRVTT_JSFUSION_test.csv", test_csv);
  DataOptions o;
  o.anno_path = dir / "anns";
  o.features_path = dir / "frames";
  return o;
}

const char* kJson = R"({"sentences": [
  {"video_id": "video1", "caption": "one a"},
  {"video_id": "video0", "caption": "zero a"},
  {"video_id": "video9", "caption": "test video"},
  {"video_id": "video1", "caption": "one b"},
  {"video_id": "video0", "caption": "zero b"}
]}
)";
const char* kTrainCsv = "video_id\nvideo0\nvideo1\n";
const char* kTestCsv = "key,vid_key,video_id,sentence\nret1,msr9,video9,a test\n";

TEST(MsrvttAnnotations, TrainingPairsFollowJsonOrderNotCsvOrder) {
  TempDir dir;
  const DataOptions o = annotation_tree(dir, kJson, kTrainCsv, kTestCsv);
  const auto splits = cma::data::read_msrvtt(o);
  const std::vector<std::pair<std::string, std::string>> want = {
      {"video1", "one a"}, {"video0", "zero a"}, {"video1", "one b"}, {"video0", "zero b"}};
  ASSERT_EQ(splits.train.size(), want.size());
  for (size_t i = 0; i < want.size(); ++i) {
    EXPECT_EQ(splits.train[i].video_id, want[i].first) << "pair " << i;
    EXPECT_EQ(splits.train[i].caption, want[i].second) << "pair " << i;
  }
  ASSERT_EQ(splits.test.size(), 1u);
  EXPECT_EQ(splits.test[0].video_id, "video9");
  EXPECT_EQ(splits.test[0].caption, "a test");
}

TEST(MsrvttAnnotations, QuotedCsvFields) {
  TempDir dir;
  // BOM, CRLF, a blank line, commas and doubled quotes inside quotes, a quoted line break.
  const std::string test_csv =
      "\xEF\xBB\xBFkey,vid_key,video_id,sentence\r\n"
      "ret0,msr9,video9,\"a man, a plan\"\r\n"
      "\r\n"
      "ret1,msr3,video3,\"she said \"\"hi\"\", twice\"\r\n"
      "ret2,msr4,\"video4\",\"two\nlines\"\n"
      "ret3,msr5,video5,plain \"inner\" quotes";
  const DataOptions o = annotation_tree(dir, kJson, kTrainCsv, test_csv);
  const auto table = cma::data::read_csv(o.anno_path + "/MSRVTT_JSFUSION_test.csv");
  ASSERT_EQ(table.header, (std::vector<std::string>{"key", "vid_key", "video_id", "sentence"}));
  ASSERT_EQ(table.rows.size(), 4u);
  EXPECT_EQ(table.row_lines, (std::vector<int>{2, 4, 5, 7}));
  const auto splits = cma::data::read_msrvtt(o);
  ASSERT_EQ(splits.test.size(), 4u);
  EXPECT_EQ(splits.test[0].caption, "a man, a plan");
  EXPECT_EQ(splits.test[1].caption, "she said \"hi\", twice");
  EXPECT_EQ(splits.test[2].video_id, "video4");
  EXPECT_EQ(splits.test[2].caption, "two\nlines");
  EXPECT_EQ(splits.test[3].caption, "plain \"inner\" quotes");  // unquoted fields keep quotes as text
}

TEST(MsrvttAnnotations, MalformedCsvNamesFileAndLine) {
  TempDir dir;
  const std::string header = "key,vid_key,video_id,sentence\n";
  const DataOptions o =
      annotation_tree(dir, kJson, kTrainCsv, header + "ret0,msr9,video9,ok\nret1,msr9,video9,\"never closed\n\n");
  const std::string unterminated = error_of([&] { cma::data::read_msrvtt(o); });
  EXPECT_NE(unterminated.find("MSRVTT_JSFUSION_test.csv:3:"), std::string::npos) << unterminated;

  write_file(dir / "anns/MSRVTT_JSFUSION_test.csv", header + "ret0,msr9,video9,\"closed\" then text\n");
  const std::string after_quote = error_of([&] { cma::data::read_msrvtt(o); });
  EXPECT_NE(after_quote.find("MSRVTT_JSFUSION_test.csv:2:"), std::string::npos) << after_quote;

  write_file(dir / "anns/MSRVTT_JSFUSION_test.csv", header + "a,b,c,d\na,b,c,d\n\na,b,c,d,e\n");
  const std::string extra_field = error_of([&] { cma::data::read_msrvtt(o); });
  EXPECT_NE(extra_field.find("MSRVTT_JSFUSION_test.csv:5:"), std::string::npos) << extra_field;
  EXPECT_NE(extra_field.find("expected 4 fields"), std::string::npos) << extra_field;

  write_file(dir / "anns/MSRVTT_JSFUSION_test.csv", "key,video_id,caption\n");
  const std::string no_column = error_of([&] { cma::data::read_msrvtt(o); });
  EXPECT_NE(no_column.find("\"sentence\""), std::string::npos) << no_column;
  EXPECT_NE(no_column.find("key, video_id, caption"), std::string::npos) << no_column;
}

TEST(MsrvttAnnotations, MalformedJsonNamesFileAndLine) {
  TempDir dir;
  const std::string bad = "{\"sentences\": [\n  {\"video_id\": \"video0\", \"caption\": \"a\"},\n"
                          "  {\"video_id\": \"video0\" \"caption\": \"b\"}\n]}\n";
  const DataOptions o = annotation_tree(dir, bad, kTrainCsv, kTestCsv);
  const std::string syntax = error_of([&] { cma::data::read_msrvtt(o); });
  EXPECT_NE(syntax.find("MSRVTT_data.json:3:"), std::string::npos) << syntax;

  write_file(dir / "anns/MSRVTT_data.json", "{\"sentences\": [\n  {\"video_id\": \"video0\"\n");
  const std::string truncated = error_of([&] { cma::data::read_msrvtt(o); });
  EXPECT_NE(truncated.find("MSRVTT_data.json:"), std::string::npos) << truncated;

  write_file(dir / "anns/MSRVTT_data.json", "{\"sentences\": [{\"video_id\": \"video0\"}]}");
  const std::string no_caption = error_of([&] { cma::data::read_msrvtt(o); });
  EXPECT_NE(no_caption.find("sentences[0]"), std::string::npos) << no_caption;
  EXPECT_NE(no_caption.find("\"caption\""), std::string::npos) << no_caption;

  write_file(dir / "anns/MSRVTT_data.json", "{\"videos\": []}");
  const std::string no_sentences = error_of([&] { cma::data::read_msrvtt(o); });
  EXPECT_NE(no_sentences.find("\"sentences\""), std::string::npos) << no_sentences;
}

TEST(MsrvttAnnotations, MissingFileNamesPathAndFlag) {
  TempDir dir;
  DataOptions o = annotation_tree(dir, kJson, kTrainCsv, kTestCsv);
  o.train7k = true;  // no MSRVTT_train.7k.csv in this tree
  const std::string msg = error_of([&] { cma::data::read_msrvtt(o); });
  EXPECT_NE(msg.find("MSRVTT_train.7k.csv"), std::string::npos) << msg;
  EXPECT_NE(msg.find("--anno_path"), std::string::npos) << msg;
}

TEST(MsrvttFrames, SampleIndicesFewerOrEqualFramesTakeAll) {
  for (int pos = 0; pos <= 2; ++pos) {
    EXPECT_EQ(sample_frame_indices(5, 12, pos), (std::vector<int>{0, 1, 2, 3, 4})) << "slice_framepos " << pos;
    std::vector<int> all(12);
    for (int i = 0; i < 12; ++i) all[i] = i;
    EXPECT_EQ(sample_frame_indices(12, 12, pos), all) << "slice_framepos " << pos;
    EXPECT_TRUE(sample_frame_indices(0, 12, pos).empty());
  }
}

TEST(MsrvttFrames, SampleIndicesMoreFramesThanMax) {
  EXPECT_EQ(sample_frame_indices(20, 12, 0), (std::vector<int>{0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11}));
  EXPECT_EQ(sample_frame_indices(20, 12, 1), (std::vector<int>{8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19}));
  // np.linspace(0, 19, 12, dtype=int)
  EXPECT_EQ(sample_frame_indices(20, 12, 2), (std::vector<int>{0, 1, 3, 5, 6, 8, 10, 12, 13, 15, 17, 19}));
  EXPECT_EQ(sample_frame_indices(13, 12, 2), (std::vector<int>{0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 12}));
  EXPECT_EQ(sample_frame_indices(100, 12, 2), (std::vector<int>{0, 9, 18, 27, 36, 45, 54, 63, 72, 81, 90, 99}));
  // numpy multiplies i by the rounded step (30/22) and truncates: 11 * step = 14.999999999999998,
  // so index 11 is 14 where exact arithmetic would give 15.
  const std::vector<int> got = sample_frame_indices(31, 23, 2);
  EXPECT_EQ(got, (std::vector<int>{0, 1, 2, 4, 5, 6, 8, 9, 10, 12, 13, 14, 16, 17, 19, 20, 21, 23, 24, 25, 27, 28, 30}));
  // max_frames 1: numpy's linspace has no step and yields [0].
  EXPECT_EQ(sample_frame_indices(5, 1, 2), (std::vector<int>{0}));
  EXPECT_EQ(sample_frame_indices(5, 1, 1), (std::vector<int>{4}));
}

TEST(MsrvttFrames, ListsSortedImageFilesOnly) {
  TempDir dir;
  const fs::path folder = dir / "video0.mp4";
  for (const char* name : {"00010.JPG", "00002.png", "a.Jpeg", "B.jpg", "c.webp", "d.BMP", "notes.txt", ".hidden.jpg",
                           "noext"}) {
    write_file(folder / name, "x");
  }
  fs::create_directories(folder / "sub.jpg");  // a folder named like an image is not a frame
  EXPECT_EQ(cma::data::list_frame_files(folder.string()),
            (std::vector<std::string>{"00002.png", "00010.JPG", "B.jpg", "a.Jpeg", "c.webp", "d.BMP"}));
  EXPECT_TRUE(cma::data::list_frame_files(dir / "missing.mp4").empty());
  EXPECT_TRUE(cma::data::list_frame_files((folder / "notes.txt").string()).empty());
  DataOptions o;
  o.features_path = dir.path();
  EXPECT_EQ(cma::data::frame_folder(o, "video0"), folder.string());
}

// Synthetic JPEG frames: written and decoded by OpenCV or, without it, TurboJPEG.
#if CMA_HAVE_SYNTHETIC_FRAMES

TEST(MsrvttTree, SyntheticTreeSplitsAndFrames) {
  TempDir dir;
  const DataOptions o = cma::testing::make_msrvtt_tree(dir.path(), 5, 3, 3, 4, 32, 24, /*empty=*/1, /*missing=*/1);
  const auto splits = cma::data::read_msrvtt(o);
  // Captions are interleaved over all 8 videos in the JSON; training keeps video0..4 in that order.
  ASSERT_EQ(splits.train.size(), 15u);
  for (size_t i = 0; i < splits.train.size(); ++i)
    EXPECT_EQ(splits.train[i].video_id, "video" + std::to_string(i % 5)) << "pair " << i;
  std::ifstream json_in(o.anno_path + "/MSRVTT_data.json");
  const auto json = nlohmann::json::parse(json_in);
  EXPECT_EQ(splits.train[5].caption, json["sentences"][8]["caption"].get<std::string>());
  // The JSFusion rows in file order (the synthetic csv lists test videos in reverse).
  ASSERT_EQ(splits.test.size(), 3u);
  EXPECT_EQ(splits.test[0].video_id, "video7");
  EXPECT_EQ(splits.test[1].video_id, "video6");
  EXPECT_EQ(splits.test[2].video_id, "video5");
  EXPECT_NE(splits.test[0].caption.find(", saying \"hi\" twice"), std::string::npos) << splits.test[0].caption;

  const auto frames = cma::data::list_frame_files(cma::data::frame_folder(o, "video0"));
  EXPECT_EQ(frames, (std::vector<std::string>{"00000.jpg", "00001.jpg", "00002.jpg", "00003.jpg"}));
  const cma::data::Image img = cma::data::decode_image(cma::data::frame_folder(o, "video0") + "/00000.jpg");
  EXPECT_EQ(img.width, 32);
  EXPECT_EQ(img.height, 24);

  DataOptions o7 = o;
  o7.train7k = true;
  EXPECT_EQ(cma::data::read_msrvtt(o7).train.size(), 12u);  // ceil(5 * 7 / 9) = 4 videos x 3 captions
}

TEST(MsrvttTree, SyntheticTreeIsDeterministic) {
  TempDir a, b;
  cma::testing::make_msrvtt_tree(a.path(), 2, 2, 1, 2, 16, 16);
  cma::testing::make_msrvtt_tree(b.path(), 2, 2, 1, 2, 16, 16);
  for (const char* rel : {"anns/MSRVTT_data.json", "anns/MSRVTT_JSFUSION_test.csv", "frames/video1.mp4/00001.jpg"}) {
    std::ifstream fa(a / rel, std::ios::binary), fb(b / rel, std::ios::binary);
    const std::string sa((std::istreambuf_iterator<char>(fa)), {}), sb((std::istreambuf_iterator<char>(fb)), {});
    EXPECT_FALSE(sa.empty()) << rel;
    EXPECT_EQ(sa, sb) << rel;
  }
}

TEST(MsrvttFrames, ListsImagesOfAnyExtensionSortedByName) {
  TempDir dir;
  const DataOptions o = cma::testing::make_msrvtt_tree(dir.path(), 1, 1, 1, 2, 16, 16);
  // A PNG frame next to the JPEGs still counts, and sorts by name (listing reads no pixels).
  std::ofstream(cma::data::frame_folder(o, "video0") + "/00001a.png", std::ios::binary) << "\x89PNG\r\n\x1a\n";
  EXPECT_EQ(cma::data::list_frame_files(cma::data::frame_folder(o, "video0")),
            (std::vector<std::string>{"00000.jpg", "00001.jpg", "00001a.png"}));
}

#else

TEST(MsrvttTree, NeedsAJpegCodec) { GTEST_SKIP() << "built without OpenCV and TurboJPEG: no synthetic frames"; }

#endif

}  // namespace
