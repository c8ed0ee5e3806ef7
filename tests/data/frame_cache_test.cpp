// Frame cache: appending, reading, and what a crash or damage leaves behind. Most cases use a
// synthetic decoder (no images involved); the folder and video cases need OpenCV.
#include "cma/data/frame_cache.h"

#include <gtest/gtest.h>

#include <atomic>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <thread>

#include "cma/core/error.h"
#include "cma/data/image.h"
#include "cma/data/msrvtt.h"
#include "msrvtt_tree.h"

#if CMA_WITH_OPENCV
#include <opencv2/core.hpp>
#include <opencv2/videoio.hpp>
#endif

namespace {

namespace fs = std::filesystem;
using cma::data::DecodedVideo;
using cma::data::FrameCacheReader;
using cma::data::PrepareStats;
using cma::testing::TempDir;

constexpr int kSize = 8;  // 8x8 frames: 192 bytes each
constexpr size_t kFrameBytes = kSize * kSize * 3;
constexpr uint64_t kHeaderBytes = 4096;  // the first video starts here (frame_cache.h)

std::vector<std::string> ids(int from, int to) {
  std::vector<std::string> out;
  for (int i = from; i < to; ++i) out.push_back("vid" + std::to_string(i));
  return out;
}

// 1 + (i % 4) frames; byte j of frame f of video i is a function of (i, f, j). "vid*_empty" has none.
DecodedVideo fake_decode(const std::string& id) {
  DecodedVideo v;
  if (id.find("empty") != std::string::npos) return v;
  const int i = std::stoi(id.substr(3));
  v.frames = 1 + i % 4;
  v.bytes.resize(v.frames * kFrameBytes);
  for (size_t j = 0; j < v.bytes.size(); ++j) v.bytes[j] = static_cast<uint8_t>(i * 31 + j * 7 + (j >> 8));
  return v;
}

PrepareStats prepare(const std::string& path, const std::vector<std::string>& list, int threads = 2) {
  return cma::data::prepare_cache(path, list, kSize, threads, fake_decode, nullptr);
}

std::string slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

void poke(const std::string& path, uint64_t offset, uint8_t xor_mask) {
  std::fstream f(path, std::ios::in | std::ios::out | std::ios::binary);
  f.seekg(static_cast<std::streamoff>(offset));
  char c = 0;
  f.get(c);
  f.seekp(static_cast<std::streamoff>(offset));
  f.put(static_cast<char>(c ^ xor_mask));
}

// Every listed video is in the cache with the bytes fake_decode makes, and verifies.
void expect_videos(const FrameCacheReader& r, const std::vector<std::string>& list) {
  for (const auto& id : list) {
    ASSERT_TRUE(r.has(id)) << id;
    const DecodedVideo v = fake_decode(id);
    ASSERT_EQ(r.frame_count(id), v.frames) << id;
    EXPECT_EQ(0, std::memcmp(r.frames(id), v.bytes.data(), v.bytes.size())) << id;
    EXPECT_TRUE(r.verify(id)) << id;
  }
}

TEST(FrameCache, PrepareThenRead) {
  TempDir dir;
  const std::string path = dir / "frames.cache";
  std::vector<std::string> list = ids(0, 7);
  list.push_back("vid9_empty");
  list.push_back("vid3");  // listed twice: handled once
  std::vector<std::pair<int64_t, int64_t>> progress;
  const PrepareStats s = cma::data::prepare_cache(path, list, kSize, 3, fake_decode,
                                                  [&](int64_t d, int64_t t) { progress.emplace_back(d, t); });
  EXPECT_EQ(s.videos_added, 7);
  EXPECT_EQ(s.videos_present, 0);
  EXPECT_EQ(s.videos_skipped, 1);
  EXPECT_EQ(s.frames_written, 1 + 2 + 3 + 4 + 1 + 2 + 3);
  ASSERT_FALSE(progress.empty());
  EXPECT_EQ(progress.front(), (std::pair<int64_t, int64_t>(0, 8)));
  EXPECT_EQ(progress.back(), (std::pair<int64_t, int64_t>(8, 8)));

  FrameCacheReader r(path);
  EXPECT_EQ(r.frame_size(), kSize);
  EXPECT_EQ(r.video_count(), 7);
  EXPECT_EQ(r.video_ids(), ids(0, 7));  // in the order listed
  EXPECT_FALSE(r.has("vid9_empty"));
  expect_videos(r, ids(0, 7));
  EXPECT_THROW(r.frames("nope"), cma::Error);
  EXPECT_NE(r.frames_checked("vid2"), nullptr);
}

TEST(FrameCache, FileIsTheSameForAnyThreadCount) {
  TempDir dir;
  prepare(dir / "a", ids(0, 20), 0);
  prepare(dir / "b", ids(0, 20), 1);
  prepare(dir / "c", ids(0, 20), 4);
  const std::string a = slurp(dir / "a");
  EXPECT_EQ(a, slurp(dir / "b"));
  EXPECT_EQ(a, slurp(dir / "c"));
}

TEST(FrameCache, RerunAddsOnlyMissingVideosWithoutRewritingData) {
  TempDir dir;
  const std::string path = dir / "frames.cache";
  EXPECT_EQ(prepare(path, ids(0, 4)).videos_added, 4);
  const std::string before = slurp(path);

  const PrepareStats s = prepare(path, ids(0, 10));
  EXPECT_EQ(s.videos_added, 6);
  EXPECT_EQ(s.videos_present, 4);
  EXPECT_EQ(s.frames_written, 1 + 2 + 3 + 4 + 1 + 2);  // vid4 .. vid9
  const std::string after = slurp(path);
  ASSERT_GT(after.size(), before.size());
  // Everything past the header (old frames and old index) is untouched: only a commit slot changed.
  EXPECT_EQ(after.compare(kHeaderBytes, before.size() - kHeaderBytes, before, kHeaderBytes, std::string::npos), 0);

  const PrepareStats again = prepare(path, ids(0, 10));
  EXPECT_EQ(again.videos_added, 0);
  EXPECT_EQ(again.videos_present, 10);
  EXPECT_EQ(slurp(path), after);  // nothing to add: nothing written

  FrameCacheReader r(path);
  EXPECT_EQ(r.video_ids(), ids(0, 10));
  expect_videos(r, ids(0, 10));
}

TEST(FrameCache, CorruptedByteFailsVerify) {
  TempDir dir;
  const std::string path = dir / "frames.cache";
  prepare(path, ids(0, 4));
  poke(path, kHeaderBytes + 100, 0x40);  // inside vid0, the first video written
  FrameCacheReader r(path);
  EXPECT_FALSE(r.verify("vid0"));
  for (const auto& id : ids(1, 4)) EXPECT_TRUE(r.verify(id)) << id;
  try {
    r.frames_checked("vid0");
    FAIL() << "a damaged video passed frames_checked";
  } catch (const cma::Error& e) {
    EXPECT_NE(std::string(e.what()).find("vid0"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find(path), std::string::npos) << e.what();
  }
  EXPECT_FALSE(r.verify("absent"));
}

TEST(FrameCache, TornAppendIsIgnoredThenCutOff) {
  TempDir dir;
  const std::string path = dir / "frames.cache";
  prepare(path, ids(0, 3));
  const auto committed = fs::file_size(path);
  {
    // A crash mid-append: half a video's frames past the committed end, no commit.
    std::ofstream f(path, std::ios::binary | std::ios::app);
    const DecodedVideo v = fake_decode("vid3");
    f.write(reinterpret_cast<const char*>(v.bytes.data()), static_cast<std::streamsize>(v.bytes.size() / 2));
  }
  {
    FrameCacheReader r(path);
    EXPECT_EQ(r.video_ids(), ids(0, 3));
    expect_videos(r, ids(0, 3));
  }
  const PrepareStats s = prepare(path, ids(0, 6));
  EXPECT_EQ(s.videos_added, 3);
  EXPECT_EQ(s.videos_present, 3);
  FrameCacheReader r(path);
  EXPECT_EQ(r.video_ids(), ids(0, 6));
  expect_videos(r, ids(0, 6));
  // Byte for byte the file of a run that never crashed.
  TempDir clean;
  prepare(clean / "c", ids(0, 3));
  prepare(clean / "c", ids(0, 6));
  EXPECT_GT(fs::file_size(path), committed);
  EXPECT_EQ(slurp(path), slurp(clean / "c"));
}

TEST(FrameCache, TornCommitSlotFallsBackToThePreviousCommit) {
  TempDir dir;
  const std::string path = dir / "frames.cache";
  prepare(path, ids(0, 3));  // commit 1 in slot A (offset 512)
  prepare(path, ids(0, 6));  // commit 2 in slot B (offset 1024)
  poke(path, 1024 + 9, 0x01);  // a torn slot write: its CRC no longer matches
  {
    FrameCacheReader r(path);
    EXPECT_EQ(r.video_ids(), ids(0, 3));
    expect_videos(r, ids(0, 3));
  }
  // The next prepare appends after commit 1 and writes slot B again.
  const PrepareStats s = prepare(path, ids(0, 6));
  EXPECT_EQ(s.videos_added, 3);
  FrameCacheReader r(path);
  EXPECT_EQ(r.video_ids(), ids(0, 6));
  expect_videos(r, ids(0, 6));
}

TEST(FrameCache, TruncatedFileIsDetected) {
  TempDir dir;
  const std::string one = dir / "one.cache";
  prepare(one, ids(0, 3));
  fs::resize_file(one, fs::file_size(one) - 10);  // cuts into the only index
  try {
    FrameCacheReader r(one);
    FAIL() << "a truncated cache opened";
  } catch (const cma::Error& e) {
    EXPECT_NE(std::string(e.what()).find("re-run cma prepare"), std::string::npos) << e.what();
  }
  EXPECT_THROW(prepare(one, ids(0, 3)), cma::Error);

  // With an older intact commit, a file cut inside the newer one falls back to the older one.
  const std::string two = dir / "two.cache";
  prepare(two, ids(0, 3));
  const auto first_end = fs::file_size(two);
  prepare(two, ids(0, 6));
  fs::resize_file(two, first_end + 100);
  FrameCacheReader r(two);
  EXPECT_EQ(r.video_ids(), ids(0, 3));
  expect_videos(r, ids(0, 3));
}

TEST(FrameCache, CreatedButNeverCommittedReadsEmpty) {
  TempDir dir;
  const std::string path = dir / "frames.cache";
  const PrepareStats s = prepare(path, {"vid1_empty"});
  EXPECT_EQ(s.videos_skipped, 1);
  FrameCacheReader r(path);
  EXPECT_EQ(r.video_count(), 0);
  EXPECT_EQ(r.frame_size(), kSize);
}

TEST(FrameCache, FrameSizeMismatchNamesFileAndSizes) {
  TempDir dir;
  const std::string path = dir / "frames.cache";
  prepare(path, ids(0, 2));
  try {
    cma::data::prepare_cache(path, ids(0, 3), 16, 1, fake_decode, nullptr);
    FAIL() << "prepare accepted another frame size";
  } catch (const cma::Error& e) {
    const std::string m = e.what();
    EXPECT_NE(m.find(path), std::string::npos) << m;
    EXPECT_NE(m.find("8x8"), std::string::npos) << m;
    EXPECT_NE(m.find("16x16"), std::string::npos) << m;
  }
}

TEST(FrameCache, RejectsFilesThatAreNotCaches) {
  TempDir dir;
  const std::string path = dir / "not.cache";
  std::ofstream(path) << std::string(5000, 'x');
  EXPECT_THROW(FrameCacheReader r(path), cma::Error);
  EXPECT_THROW(prepare(path, ids(0, 1)), cma::Error);  // never overwrites a foreign file
  EXPECT_EQ(fs::file_size(path), 5000u);
  EXPECT_THROW(FrameCacheReader r(dir / "missing.cache"), cma::Error);
  try {  // a folder given as the cache: named as a folder, not the kernel's "No such device"
    FrameCacheReader r(dir.path());
    FAIL() << "a folder was accepted as a frame cache";
  } catch (const cma::Error& e) {
    EXPECT_NE(std::string(e.what()).find("is a folder"), std::string::npos) << e.what();
  }
  // A damaged header (here: the format version) is refused, naming the file.
  const std::string cache = dir / "frames.cache";
  prepare(cache, ids(0, 1));
  poke(cache, 16, 0x02);
  try {
    FrameCacheReader r(cache);
    FAIL() << "a damaged header was accepted";
  } catch (const cma::Error& e) {
    EXPECT_NE(std::string(e.what()).find(cache), std::string::npos) << e.what();
  }
}

TEST(FrameCache, DecoderFailureKeepsTheVideosBeforeIt) {
  TempDir dir;
  const std::string path = dir / "frames.cache";
  auto failing = [](const std::string& id) {
    if (id == "vid4") throw cma::Error("cannot decode vid4");
    return fake_decode(id);
  };
  EXPECT_THROW(cma::data::prepare_cache(path, ids(0, 8), kSize, 3, failing, nullptr), cma::Error);
  FrameCacheReader r(path);
  EXPECT_EQ(r.video_ids(), ids(0, 4));
  expect_videos(r, ids(0, 4));
}

TEST(FrameCache, ConcurrentReadersSeeTheSameBytes) {
  TempDir dir;
  const std::string path = dir / "frames.cache";
  prepare(path, ids(0, 16));
  FrameCacheReader r(path);
  std::atomic<int> bad{0};
  std::vector<std::thread> pool;
  for (int t = 0; t < 4; ++t) {
    pool.emplace_back([&] {
      for (const auto& id : ids(0, 16)) {
        const DecodedVideo v = fake_decode(id);
        if (std::memcmp(r.frames_checked(id), v.bytes.data(), v.bytes.size()) != 0) bad++;
      }
    });
  }
  for (auto& t : pool) t.join();
  EXPECT_EQ(bad.load(), 0);
}

// Frame folders: synthetic JPEG frames, written and decoded by OpenCV or, without it, TurboJPEG.
#if CMA_HAVE_SYNTHETIC_FRAMES

TEST(FrameCache, FromFoldersHoldsEveryFrameResizedAndCropped) {
  TempDir dir;
  cma::data::SyntheticSpec spec;
  spec.num_train_videos = 4;
  spec.captions_per_video = 1;
  spec.num_test_videos = 0;
  spec.frames_per_video = 2;
  spec.frames_spread = 2;
  spec.width = 64, spec.height = 48;
  spec.videos_with_empty_folder = 1;
  spec.videos_without_folder = 1;
  cma::data::write_synthetic_msrvtt(dir.path(), spec);
  cma::data::DataOptions o;
  o.features_path = cma::data::synthetic_features_path(dir.path());
  o.frame_size = 24;
  std::vector<std::string> list;
  for (int i = 0; i < 4; ++i) list.push_back(cma::data::synthetic_video_id(i));
  const std::string path = dir / "frames.cache";
  const PrepareStats s = cma::data::prepare_from_folders(path, list, o, 2, nullptr);
  EXPECT_EQ(s.videos_added, 2);
  EXPECT_EQ(s.videos_skipped, 2);  // video2 (empty folder), video3 (no folder)
  FrameCacheReader r(path);
  EXPECT_EQ(r.frame_size(), 24);
  for (int i = 0; i < 2; ++i) {
    const std::string id = cma::data::synthetic_video_id(i);
    const std::string folder = cma::data::frame_folder(o, id);
    const auto files = cma::data::list_frame_files(folder);
    ASSERT_EQ(r.frame_count(id), cma::data::synthetic_frame_count(spec, i));
    ASSERT_EQ(files.size(), static_cast<size_t>(r.frame_count(id)));
    for (size_t f = 0; f < files.size(); ++f) {
      const auto px = cma::data::clip_resize_crop(cma::data::decode_image(folder + "/" + files[f]), 24);
      EXPECT_EQ(0, std::memcmp(r.frames(id) + f * px.size(), px.data(), px.size())) << id << " frame " << f;
    }
  }
}

TEST(FrameCache, FromFoldersSkipsUnreadableFrames) {
  TempDir dir;
  cma::data::SyntheticSpec spec;
  spec.num_train_videos = 1, spec.captions_per_video = 1, spec.num_test_videos = 0;
  spec.frames_per_video = 3, spec.width = 32, spec.height = 32;
  cma::data::write_synthetic_msrvtt(dir.path(), spec);
  cma::data::DataOptions o;
  o.features_path = cma::data::synthetic_features_path(dir.path());
  o.frame_size = 16;
  const std::string folder = cma::data::frame_folder(o, "video0");
  const auto files = cma::data::list_frame_files(folder);
  std::ofstream(folder + "/" + files[1], std::ios::trunc) << "not an image";
  const PrepareStats s = cma::data::prepare_from_folders(dir / "c", {"video0"}, o, 1, nullptr);
  EXPECT_EQ(s.frames_written, 2);
  FrameCacheReader r(dir / "c");
  EXPECT_EQ(r.frame_count("video0"), 2);
}

#endif

#if CMA_WITH_OPENCV  // reading videos
TEST(FrameCache, FromVideosTakesOneFramePerSecond) {
  TempDir dir;
  // 4 fps for 3.5 s: frames 0, 4, 8, 12 are the whole seconds. Each frame is one flat grey level
  // (frame index * 16), which survives MJPEG well enough to tell the frames apart.
  const std::string video = dir / "clip7.avi";
  {
    cv::VideoWriter w(video, cv::VideoWriter::fourcc('M', 'J', 'P', 'G'), 4.0, cv::Size(40, 32));
    if (!w.isOpened()) GTEST_SKIP() << "OpenCV here cannot write MJPEG .avi files (no videoio backend)";
    for (int i = 0; i < 14; ++i) w.write(cv::Mat(32, 40, CV_8UC3, cv::Scalar::all(i * 16)));
  }
  const std::string path = dir / "frames.cache";
  const PrepareStats s =
      cma::data::prepare_from_videos(path, dir.path(), {"clip7", "missing"}, 16, 2, nullptr);
  EXPECT_EQ(s.videos_added, 1);
  EXPECT_EQ(s.videos_skipped, 1);
  FrameCacheReader r(path);
  ASSERT_EQ(r.frame_count("clip7"), 4);
  for (int k = 0; k < 4; ++k) {
    const int level = r.frames("clip7")[k * r.frame_bytes() + 8 * 16 * 3 + 8 * 3];  // centre pixel
    EXPECT_NEAR(level, k * 4 * 16, 6) << "second " << k;
  }
}

#else
TEST(FrameCache, FromVideosTakesOneFramePerSecond) {
  GTEST_SKIP() << "built without OpenCV (CMA_WITH_OPENCV): no video decoding";
}
#endif

}  // namespace
