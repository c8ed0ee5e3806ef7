// Preprocess: decoding + PIL-exact CLIP transform against tensors the reference (PIL + torchvision)
// produced. Tolerance: one 8-bit level (1/255/std ~ 0.0155 after normalisation) on >= 99.9% of
// values, two levels everywhere (JPEG decoders may differ by a level here and there).
#include "cma/data/image.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <vector>

#include "cma/core/error.h"
#include "cma/core/safetensors.h"
#include "test_paths.h"
#include "test_tmp.h"

#if CMA_WITH_OPENCV
#include <opencv2/core.hpp>
#include <opencv2/imgcodecs.hpp>
#endif

namespace {

namespace fs = std::filesystem;
using cma::data::Image;

constexpr int kSize = 224;
constexpr float kOneLevel = 0.0155f;
constexpr float kTwoLevels = 0.031f;
constexpr double kMinWithinOne = 0.999;

// A deterministic pseudo-random image (high-contrast noise stresses rounding and clipping).
Image noise_image(int w, int h, int channels) {
  Image img;
  img.width = w, img.height = h, img.channels = channels;
  img.pixels.resize(static_cast<size_t>(w) * h * channels);
  for (size_t i = 0; i < img.pixels.size(); ++i) img.pixels[i] = (i * 2654435761u >> 13) & 255;
  return img;
}

TEST(Preprocess, ResizeDimsAndCropWindowFollowTorchvision) {
  int w = 0, h = 0;
  cma::data::clip_resize_dims(227, 500, kSize, &w, &h);  // int(224 * 500 / 227) = 493
  EXPECT_EQ(w, 224);
  EXPECT_EQ(h, 493);
  cma::data::clip_resize_dims(1280, 720, kSize, &w, &h);  // int(398.2)
  EXPECT_EQ(w, 398);
  EXPECT_EQ(h, 224);
  // Cropping the window equals resizing the whole image and cropping at round((dim - 224) / 2).
  const Image img = noise_image(227, 500, 3);
  const Image full = cma::data::pil_resize_bicubic(img, 224, 493);
  const std::vector<uint8_t> crop = cma::data::clip_resize_crop(img);
  const int top = 134;  // Python's round(134.5) is 134 (halves to even)
  for (int y = 0; y < kSize; ++y) {
    ASSERT_EQ(0, std::memcmp(crop.data() + y * kSize * 3,
                             full.pixels.data() + (y + top) * kSize * 3, kSize * 3))
        << "row " << y;
  }
}

TEST(Preprocess, OpaqueRgbaResizesLikeRgb) {
  // Premultiplying by alpha 255 is exact, so an opaque RGBA image must give the RGB result.
  const Image rgb = noise_image(97, 61, 3);
  Image rgba;
  rgba.width = rgb.width, rgba.height = rgb.height, rgba.channels = 4;
  for (size_t p = 0; p < rgb.pixels.size(); p += 3) {
    rgba.pixels.insert(rgba.pixels.end(), {rgb.pixels[p], rgb.pixels[p + 1], rgb.pixels[p + 2], 255});
  }
  EXPECT_EQ(cma::data::clip_resize_crop(rgba, 40), cma::data::clip_resize_crop(rgb, 40));
}

TEST(Preprocess, GreyResizesLikeReplicatedRgb) {
  const Image grey = noise_image(50, 70, 1);
  Image rgb;
  rgb.width = grey.width, rgb.height = grey.height, rgb.channels = 3;
  for (uint8_t v : grey.pixels) rgb.pixels.insert(rgb.pixels.end(), {v, v, v});
  EXPECT_EQ(cma::data::clip_resize_crop(grey, 32), cma::data::clip_resize_crop(rgb, 32));
}

TEST(Preprocess, NormalizeMatchesClipConstants) {
  // OpenAI CLIP's Normalize constants, written out here rather than read from the code under test.
  const float mean[3] = {0.48145466f, 0.4578275f, 0.40821073f};
  const float std_[3] = {0.26862954f, 0.26130258f, 0.27577711f};
  const std::vector<uint8_t> hwc = {0, 128, 255, 255, 0, 128, 10, 20, 30, 40, 50, 60};  // 2x2 RGB
  std::vector<float> chw(12);
  cma::data::normalize_clip(hwc.data(), 2, chw.data());
  for (int c = 0; c < 3; ++c) {
    for (int p = 0; p < 4; ++p) {
      // ToTensor then Normalize, in float32 as torchvision computes them.
      const float want = (static_cast<float>(hwc[p * 3 + c]) / 255.0f - mean[c]) / std_[c];
      EXPECT_EQ(chw[c * 4 + p], want) << "channel " << c << " pixel " << p;
    }
  }
  EXPECT_NEAR(chw[0], -0.48145466 / 0.26862954, 1e-6);
}

TEST(Preprocess, InvalidImageIsRejected) {
  Image img;
  EXPECT_THROW(cma::data::pil_resize_bicubic(img, 10, 10), cma::Error);
  img.width = 4, img.height = 4, img.channels = 2;
  img.pixels.resize(32);
  EXPECT_THROW(cma::data::clip_resize_crop(img), cma::Error);
}

#if CMA_WITH_OPENCV

std::vector<float> preprocess(const std::string& path) {
  const Image img = cma::data::decode_image(path);
  const std::vector<uint8_t> rgb = cma::data::clip_resize_crop(img, kSize);
  std::vector<float> chw(3 * kSize * kSize);
  cma::data::normalize_clip(rgb.data(), kSize, chw.data());
  return chw;
}

// Compares one image's output with the expected tensor; prints the statistics either way.
void expect_matches(const std::string& image_path, const cma::st::File& expected,
                    const std::string& key) {
  SCOPED_TRACE(image_path);
  const auto& t = expected.get(key);
  ASSERT_EQ(t.dtype, cma::st::DType::F32) << key;
  ASSERT_EQ(t.shape, (std::vector<int64_t>{3, kSize, kSize})) << key;
  std::vector<float> want(t.numel());
  std::memcpy(want.data(), t.data, t.nbytes);
  const std::vector<float> got = preprocess(image_path);

  float max_diff = 0.0f;
  size_t within_one = 0, first_bad = want.size(), max_at = 0;
  for (size_t i = 0; i < want.size(); ++i) {
    const float d = std::fabs(got[i] - want[i]);
    if (d > max_diff) max_diff = d, max_at = i;
    if (d <= kOneLevel) ++within_one;
    if (d > kTwoLevels && first_bad == want.size()) first_bad = i;
  }
  const double frac = static_cast<double>(within_one) / want.size();
  auto index = [](size_t i) {
    const size_t plane = kSize * kSize;
    return "[" + std::to_string(i / plane) + "," + std::to_string(i % plane / kSize) + "," +
           std::to_string(i % kSize) + "]";
  };
  std::printf("  %-28s max diff %.5f at %s, within one level %.5f%%\n", key.c_str(), max_diff,
              index(max_at).c_str(), 100.0 * frac);
  EXPECT_GE(frac, kMinWithinOne) << key << ": only " << 100.0 * frac
                                 << "% of values within one 8-bit level; max diff " << max_diff
                                 << " at " << index(max_at);
  EXPECT_TRUE(first_bad == want.size())
      << key << ": first value beyond two levels at " << index(first_bad) << " (flat " << first_bad
      << "): got " << got[first_bad] << ", want " << want[first_bad] << "; max diff " << max_diff;
}

// Runs every image in `dir` whose file name is a key of `expected_path`; returns how many ran.
int run_dir(const std::string& dir, const std::string& expected_path) {
  const cma::st::File expected(expected_path);
  std::vector<std::string> names;
  for (const auto& e : fs::directory_iterator(dir)) {
    const std::string name = e.path().filename().string();
    if (e.is_regular_file() && expected.has(name)) names.push_back(name);
  }
  std::sort(names.begin(), names.end());
  for (const auto& name : names) expect_matches(dir + "/" + name, expected, name);
  return static_cast<int>(names.size());
}

TEST(Preprocess, MatchesReferenceFixtures) {
  const std::string dir = cma::testing::fixture("preprocess/images");
  const std::string expected = cma::testing::fixture("preprocess/expected.safetensors");
  ASSERT_FALSE(dir.empty()) << "preprocess/images not found in tests/data or "
                            << cma::testing::shared_dir();
  ASSERT_FALSE(expected.empty()) << "preprocess/expected.safetensors not found";
  const int n = run_dir(dir, expected);
  EXPECT_GT(n, 0) << "no image in " << dir << " was compared";
  EXPECT_EQ(n, static_cast<int>(cma::st::File(expected).names().size()))
      << "every expected tensor should have its image in " << dir;
}

// Extra cases: CMA_PREPROCESS_CASES=dir1=expected1.safetensors:dir2=expected2.safetensors
TEST(Preprocess, MatchesExtraCasesFromEnvironment) {
  const auto pairs = cma::testing::env_paths("CMA_PREPROCESS_CASES");
  if (pairs.empty()) {
    GTEST_SKIP() << "CMA_PREPROCESS_CASES is unset; set it to dir=expected.safetensors pairs "
                    "(colon-separated) to check more images";
  }
  for (const auto& pair : pairs) {
    const size_t eq = pair.find('=');
    ASSERT_NE(eq, std::string::npos) << "CMA_PREPROCESS_CASES entry '" << pair
                                     << "' is not of the form dir=expected.safetensors";
    const int n = run_dir(pair.substr(0, eq), pair.substr(eq + 1));
    EXPECT_GT(n, 0) << "no image in " << pair.substr(0, eq) << " is a key of "
                    << pair.substr(eq + 1);
  }
}

void expect_error_names(const std::string& path) {
  try {
    cma::data::decode_image(path);
    FAIL() << "expected cma::Error for " << path;
  } catch (const cma::Error& e) {
    EXPECT_NE(std::string(e.what()).find(path), std::string::npos) << e.what();
  }
}

TEST(Preprocess, UnreadableOrCorruptFileFailsNamingIt) {
  const cma::testing::TempDir tmp("preprocess");
  const fs::path dir = tmp.path();
  expect_error_names((dir / "missing.jpg").string());
  const std::string garbage = (dir / "garbage.jpg").string();
  std::ofstream(garbage, std::ios::binary) << "this is not a JPEG at all";
  expect_error_names(garbage);
  const std::string empty = (dir / "empty.png").string();
  std::ofstream(empty, std::ios::binary).flush();
  expect_error_names(empty);
}

TEST(Preprocess, GreyImageGivesThreeIdenticalChannels) {
  const std::string path = cma::testing::fixture("preprocess/images/e_gray_300x300.png");
  ASSERT_FALSE(path.empty()) << "preprocess/images/e_gray_300x300.png not found";
  const Image img = cma::data::decode_image(path);
  EXPECT_EQ(img.channels, 1);
  const std::vector<uint8_t> rgb = cma::data::clip_resize_crop(img);
  ASSERT_EQ(rgb.size(), 3u * kSize * kSize);
  for (size_t p = 0; p < rgb.size(); p += 3) {
    ASSERT_TRUE(rgb[p] == rgb[p + 1] && rgb[p] == rgb[p + 2]) << "pixel " << p / 3;
  }
}

TEST(Preprocess, ImageAlreadyAtSizePassesThroughUnchanged) {
  const std::string path = cma::testing::fixture("preprocess/images/g_exact_224x224.jpg");
  ASSERT_FALSE(path.empty()) << "preprocess/images/g_exact_224x224.jpg not found";
  const Image img = cma::data::decode_image(path);
  ASSERT_EQ(img.width, kSize);
  ASSERT_EQ(img.height, kSize);
  ASSERT_EQ(img.channels, 3);
  EXPECT_EQ(cma::data::clip_resize_crop(img), img.pixels);
  EXPECT_EQ(cma::data::pil_resize_bicubic(img, kSize, kSize).pixels, img.pixels);
}

TEST(Preprocess, DecodeGivesRgbOrderAndHighByteOf16Bit) {
  const cma::testing::TempDir tmp("preprocess");
  const fs::path dir = tmp.path();
  // OpenCV writes BGR(A); one pixel of known colour checks the reordering.
  cv::Mat bgr(1, 2, CV_8UC3, cv::Scalar(10, 20, 30));
  const std::string p8 = (dir / "bgr8.png").string();
  ASSERT_TRUE(cv::imwrite(p8, bgr));
  const Image a = cma::data::decode_image(p8);
  ASSERT_EQ(a.channels, 3);
  EXPECT_EQ(a.pixels, (std::vector<uint8_t>{30, 20, 10, 30, 20, 10}));
  cv::Mat bgra16(1, 1, CV_16UC4, cv::Scalar(0x0AFF, 0x1400, 0x1E80, 0xFFFF));
  const std::string p16 = (dir / "bgra16.png").string();
  ASSERT_TRUE(cv::imwrite(p16, bgra16));
  const Image b = cma::data::decode_image(p16);
  ASSERT_EQ(b.channels, 4);
  EXPECT_EQ(b.pixels, (std::vector<uint8_t>{0x1E, 0x14, 0x0A, 0xFF}));
}

#else  // !CMA_WITH_OPENCV

TEST(Preprocess, DecodingNeedsOpenCV) {
  GTEST_SKIP() << "built without OpenCV (CMA_WITH_OPENCV=OFF): image decoding and the fixture "
                  "comparisons are not compiled";
}

#endif

// A 2x1 RGB PNG (a red pixel, a blue one): OpenCV builds decode it; builds without OpenCV read JPEG
// only, and refuse it naming the image and what would read it.
TEST(Preprocess, PngDecodesWithOpenCvAndIsRefusedClearlyWithout) {
  const uint8_t png[] = {
      0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A, 0x00, 0x00, 0x00, 0x0D, 0x49, 0x48, 0x44, 0x52, 0x00, 0x00,
      0x00, 0x02, 0x00, 0x00, 0x00, 0x01, 0x08, 0x02, 0x00, 0x00, 0x00, 0x7B, 0x40, 0xE8, 0xDD, 0x00, 0x00, 0x00,
      0x0D, 0x49, 0x44, 0x41, 0x54, 0x78, 0x9C, 0x63, 0xF8, 0xCF, 0x00, 0x04, 0xFF, 0x01, 0x07, 0x00, 0x01, 0xFF,
      0xE2, 0x23, 0x9E, 0x59, 0x00, 0x00, 0x00, 0x00, 0x49, 0x45, 0x4E, 0x44, 0xAE, 0x42, 0x60, 0x82};
#if CMA_WITH_OPENCV
  const Image img = cma::data::decode_image_bytes(png, sizeof(png), "two.png");
  ASSERT_EQ(img.width, 2);
  ASSERT_EQ(img.height, 1);
  EXPECT_EQ(img.pixels, (std::vector<uint8_t>{255, 0, 0, 0, 0, 255}));
#else
  try {
    cma::data::decode_image_bytes(png, sizeof(png), "two.png");
    FAIL() << "a PNG decoded in a build without OpenCV";
  } catch (const cma::Error& e) {
    EXPECT_NE(std::string(e.what()).find("two.png"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("-DCMA_WITH_OPENCV=ON"), std::string::npos) << e.what();
  }
#endif
}

}  // namespace
