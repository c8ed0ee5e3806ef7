// The checks before a run: frame headers (size limit, truncation) and every video of a split.
#include "cma/data/video_check.h"

#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <vector>

#include "../log_capture.h"
#include "../test_tmp.h"
#include "cma/core/error.h"
#include "cma/data/image_header.h"

#if CMA_WITH_OPENCV
#include <opencv2/core.hpp>
#include <opencv2/imgcodecs.hpp>

#include "cma/data/image.h"
#include "msrvtt_tree.h"
#endif

namespace {

// Every case encodes its images with OpenCV.
#if CMA_WITH_OPENCV
using cma::data::check_image_header;
using cma::testing::TempDir;

std::vector<uint8_t> read_bytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::vector<uint8_t>((std::istreambuf_iterator<char>(in)), {});
}

void write_bytes(const std::string& path, const std::vector<uint8_t>& bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
}

// The error check_image_header throws for `bytes`, or "" when it accepts them.
std::string header_error(const std::vector<uint8_t>& bytes) {
  try {
    check_image_header(bytes.data(), bytes.size(), "frame.jpg");
  } catch (const cma::Error& e) {
    return e.what();
  }
  return "";
}

std::vector<uint8_t> encode(const std::string& ext, int w, int h) {
  std::vector<uint8_t> out;
  cv::Mat img(h, w, CV_8UC3);
  cv::randu(img, 0, 255);
  cv::imencode(ext, img, out);
  return out;
}

// The JPEG with the size in its frame header replaced: what an image bomb looks like.
std::vector<uint8_t> with_claimed_size(std::vector<uint8_t> jpeg, int w, int h) {
  for (size_t i = 2; i + 9 < jpeg.size(); ++i) {
    if (jpeg[i] == 0xFF && (jpeg[i + 1] == 0xC0 || jpeg[i + 1] == 0xC2)) {
      jpeg[i + 5] = static_cast<uint8_t>(h >> 8), jpeg[i + 6] = static_cast<uint8_t>(h & 0xFF);
      jpeg[i + 7] = static_cast<uint8_t>(w >> 8), jpeg[i + 8] = static_cast<uint8_t>(w & 0xFF);
      return jpeg;
    }
  }
  ADD_FAILURE() << "no frame header found";
  return jpeg;
}

TEST(ImageHeader, ReadsJpegAndPngSizes) {
  const auto jpg = encode(".jpg", 37, 21), png = encode(".png", 12, 5);
  const auto hj = check_image_header(jpg.data(), jpg.size(), "a.jpg");
  EXPECT_EQ(hj.format, cma::data::ImageHeader::Format::Jpeg);
  EXPECT_EQ(hj.width, 37);
  EXPECT_EQ(hj.height, 21);
  const auto hp = check_image_header(png.data(), png.size(), "a.png");
  EXPECT_EQ(hp.format, cma::data::ImageHeader::Format::Png);
  EXPECT_EQ(hp.width, 12);
  EXPECT_EQ(hp.height, 5);
  const auto bmp = encode(".bmp", 4, 3);
  const auto hb = check_image_header(bmp.data(), bmp.size(), "a.bmp");
  EXPECT_EQ(hb.format, cma::data::ImageHeader::Format::Bmp);
  EXPECT_EQ(hb.width, 4);
  EXPECT_EQ(hb.height, 3);
  const std::vector<uint8_t> text = {'n', 'o', 't', ' ', 'a', 'n', ' ', 'i', 'm', 'a', 'g', 'e'};
  EXPECT_NE(header_error(text).find("not a JPEG, PNG, BMP or WebP image"), std::string::npos) << header_error(text);
}

TEST(ImageHeader, RefusesAnImageBombBeforeDecodingAPixel) {
  TempDir dir;
  const std::string bomb = dir / "bomb.jpg";
  write_bytes(bomb, with_claimed_size(encode(".jpg", 64, 48), 20000, 20000));
  EXPECT_NE(header_error(read_bytes(bomb)).find("20000 x 20000"), std::string::npos) << header_error(read_bytes(bomb));
  // decode_image refuses it at once (decoding would allocate 1.2 GB), naming the file and the limit.
  const auto t0 = std::chrono::steady_clock::now();
  try {
    cma::data::decode_image(bomb);
    ADD_FAILURE() << "an image claiming 20000 x 20000 pixels was decoded";
  } catch (const cma::Error& e) {
    const std::string what = e.what();
    EXPECT_NE(what.find(bomb), std::string::npos) << what;
    EXPECT_NE(what.find("at most 8192"), std::string::npos) << what;
  }
  EXPECT_LT(std::chrono::steady_clock::now() - t0, std::chrono::seconds(5));
  EXPECT_NE(header_error(with_claimed_size(encode(".jpg", 8, 8), 65500, 65500)).find("65500"), std::string::npos);
  EXPECT_NE(header_error(with_claimed_size(encode(".jpg", 8, 8), 0, 10)).find("0 x 10"), std::string::npos);
}

TEST(ImageHeader, RefusesTruncatedJpegAndPng) {
  const auto jpg = encode(".jpg", 64, 48), png = encode(".png", 64, 48);
  EXPECT_EQ(header_error(jpg), "");
  EXPECT_EQ(header_error(png), "");
  for (size_t keep : {jpg.size() / 2, jpg.size() - 2, size_t{40}, size_t{3}}) {
    const std::vector<uint8_t> cut(jpg.begin(), jpg.begin() + static_cast<std::ptrdiff_t>(keep));
    EXPECT_NE(header_error(cut).find("frame.jpg"), std::string::npos) << "JPEG cut to " << keep << " bytes";
  }
  EXPECT_NE(header_error({jpg.begin(), jpg.begin() + static_cast<std::ptrdiff_t>(jpg.size() / 2)}).find("truncated"),
            std::string::npos);
  const std::vector<uint8_t> png_cut(png.begin(), png.begin() + static_cast<std::ptrdiff_t>(png.size() / 2));
  EXPECT_NE(header_error(png_cut).find("truncated"), std::string::npos);
  EXPECT_NE(header_error({}).find("empty"), std::string::npos);
}

// A tree of 9 training videos (2 captions each) whose videos 2, 4, 5, 6, 7, 8 are broken in
// different ways; video 0, 1, 3 are fine.
struct BrokenTree {
  TempDir dir;
  cma::data::DataOptions o;
  BrokenTree() {
    o = cma::testing::make_msrvtt_tree(dir.path(), 9, 2, 1, 3, 32, 24);
    const auto frame = [&](const char* video, const char* name) { return cma::data::frame_folder(o, video) + "/" + name; };
    std::filesystem::remove_all(cma::data::frame_folder(o, "video2"));  // no folder
    for (const auto& e : std::filesystem::directory_iterator(cma::data::frame_folder(o, "video4")))
      std::filesystem::remove(e.path());  // empty folder
    auto jpg = read_bytes(frame("video5", "00001.jpg"));
    write_bytes(frame("video5", "00001.jpg"), {jpg.begin(), jpg.begin() + static_cast<std::ptrdiff_t>(jpg.size() / 2)});
    write_bytes(frame("video6", "00000.jpg"), with_claimed_size(read_bytes(frame("video6", "00000.jpg")), 20000, 20000));
    write_bytes(frame("video7", "00002.jpg"), {'n', 'o', 't', ' ', 'a', 'n', ' ', 'i', 'm', 'a', 'g', 'e'});
    write_bytes(frame("video8", "00000.jpg"), {});
  }
};

TEST(VideoCheck, LeavesOutBadVideosWithOneSummary) {
  BrokenTree t;
  auto splits = cma::data::read_msrvtt(t.o);
  ASSERT_EQ(splits.train.size(), 18u);
  const auto source = cma::data::make_folder_source(t.o);
  cma::testing::LogCapture log;
  EXPECT_EQ(cma::data::check_videos(splits.train, *source, t.o, "train"), 6);
  // The order of what is kept is the order it had: video0, video1, video3 pairs alternate.
  ASSERT_EQ(splits.train.size(), 6u);
  for (size_t i = 0; i < splits.train.size(); ++i) {
    EXPECT_EQ(splits.train[i].video_id, std::vector<std::string>({"video0", "video1", "video3"})[i % 3]) << i;
  }
  const auto lines = log.lines();
  ASSERT_EQ(log.count("left out"), 1) << "one summary, not a line per video";
  const std::string summary = *std::find_if(lines.begin(), lines.end(), [](const std::string& l) {
    return l.find("left out") != std::string::npos;
  });
  EXPECT_NE(summary.find("left out 6 of 9 videos (12 of 18 pairs"), std::string::npos) << summary;
  EXPECT_NE(summary.find("video2: no frames at"), std::string::npos) << summary;
  EXPECT_NE(summary.find("video4: no image files"), std::string::npos) << summary;
  EXPECT_NE(summary.find("truncated"), std::string::npos) << summary;
  EXPECT_NE(summary.find("20000 x 20000"), std::string::npos) << summary;
  EXPECT_NE(summary.find("and 1 more"), std::string::npos) << summary;  // five named, one counted
}

TEST(VideoCheck, ErrorModeStopsNamingTheVideoAndTheFlag) {
  BrokenTree t;
  t.o.bad_videos = cma::data::BadVideos::Error;
  auto splits = cma::data::read_msrvtt(t.o);
  const auto source = cma::data::make_folder_source(t.o);
  try {
    cma::data::check_videos(splits.train, *source, t.o, "train");
    ADD_FAILURE() << "bad videos were accepted with --bad-videos error";
  } catch (const cma::Error& e) {
    const std::string what = e.what();
    EXPECT_NE(what.find("video2"), std::string::npos) << what;
    EXPECT_NE(what.find("--bad-videos"), std::string::npos) << what;
  }
}

TEST(VideoCheck, NoUsableVideoIsOneErrorNamingWhereFramesWereLookedFor) {
  TempDir dir;
  auto o = cma::testing::make_msrvtt_tree(dir.path(), 30, 1, 1, 2, 16, 16);
  auto splits = cma::data::read_msrvtt(o);
  o.features_path = dir / "wrong";
  const auto source = cma::data::make_folder_source(o);
  cma::testing::LogCapture log;
  try {
    cma::data::check_videos(splits.train, *source, o, "train");
    ADD_FAILURE() << "a split without one usable video was accepted";
  } catch (const cma::Error& e) {
    const std::string what = e.what();
    EXPECT_NE(what.find("none of its 30 videos"), std::string::npos) << what;
    EXPECT_NE(what.find("--features_path " + o.features_path), std::string::npos) << what;
  }
  EXPECT_EQ(log.count("skipping"), 0);  // no line per video
}
#endif

}  // namespace
