// Writes the synthetic MSR-VTT tree of synthetic.h. Frames are encoded with OpenCV's imgcodecs
// where the build has it (the frames the reference fixtures were made from), else with TurboJPEG.
#include "cma/data/synthetic.h"

#if CMA_WITH_OPENCV
#include <opencv2/core.hpp>
#include <opencv2/imgcodecs.hpp>
#endif

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <vector>

#include "cma/core/error.h"
#include "image_encode.h"

namespace cma::data {
namespace {

namespace fs = std::filesystem;

// splitmix64: a tiny seeded generator whose output is the same on every platform.
struct Rng {
  uint64_t state;
  uint64_t next() {
    uint64_t z = (state += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
  }
  int below(int n) { return static_cast<int>(next() % static_cast<uint64_t>(n)); }
};

const char* kSubjects[] = {"a man", "a woman", "a dog", "two kids", "a chef", "a band", "a car", "people"};
const char* kVerbs[] = {"is cooking", "plays", "runs across", "talks about", "drives past", "sings in", "jumps over"};
const char* kObjects[] = {"a kitchen", "the guitar", "a field", "the news", "a street", "a stage", "a fence"};

template <size_t N>
const char* pick(Rng& r, const char* (&words)[N]) {
  return words[r.below(static_cast<int>(N))];
}

std::string caption(Rng& r) {
  return std::string(pick(r, kSubjects)) + " " + pick(r, kVerbs) + " " + pick(r, kObjects);
}

// Quotes a CSV field when it holds a comma, a quote or a line break (quotes doubled).
std::string csv_field(const std::string& s) {
  if (s.find_first_of(",\"\r\n") == std::string::npos) return s;
  std::string out = "\"";
  for (char c : s) out += c == '"' ? std::string("\"\"") : std::string(1, c);
  return out + "\"";
}

void write_text(const fs::path& path, const std::string& text) {
  std::ofstream out(path, std::ios::binary);
  out << text;
  require(static_cast<bool>(out), "cannot write " + path.string());
}

// A smooth colour field that drifts with the frame index, plus noise: compresses like a real frame.
// Pixels are interleaved blue, green, red (OpenCV's order, in which the field was first defined).
std::vector<uint8_t> frame_bgr(const SyntheticSpec& s, int video, int frame) {
  Rng r{s.seed * 1000003ull + static_cast<uint64_t>(video) * 7919ull + static_cast<uint64_t>(frame)};
  const int base[3] = {r.below(256), r.below(256), r.below(256)};
  std::vector<uint8_t> px(static_cast<size_t>(s.width) * s.height * 3);
  for (int y = 0; y < s.height; ++y) {
    uint8_t* row = px.data() + static_cast<size_t>(y) * s.width * 3;
    for (int x = 0; x < s.width; ++x) {
      for (int c = 0; c < 3; ++c) {
        const int v = base[c] + (x * (c + 1) + y * (3 - c)) / 4 + frame * 5 + r.below(17) - 8;
        row[3 * x + c] = static_cast<uint8_t>(((v % 256) + 256) % 256);
      }
    }
  }
  return px;
}

void write_frame(const fs::path& path, const SyntheticSpec& s, std::vector<uint8_t> bgr) {
#if CMA_WITH_OPENCV
  std::vector<int> params;
  if (s.frame_ext == ".jpg") params = {cv::IMWRITE_JPEG_QUALITY, s.jpeg_quality};
  const cv::Mat m(s.height, s.width, CV_8UC3, bgr.data());
  require(cv::imwrite(path.string(), m, params), "cannot write frame " + path.string());
#else
  Image rgb{s.width, s.height, 3, std::move(bgr)};
  for (size_t i = 0; i < rgb.pixels.size(); i += 3) std::swap(rgb.pixels[i], rgb.pixels[i + 2]);
  const std::vector<uint8_t> jpeg = encode_jpeg(rgb, s.jpeg_quality, path.string());
  write_text(path, std::string(jpeg.begin(), jpeg.end()));
#endif
}

void write_frames(const fs::path& folder, const SyntheticSpec& s, int video, int count) {
  fs::create_directories(folder);
  for (int f = 0; f < count; ++f) {
    char name[32];
    std::snprintf(name, sizeof(name), "%05d", f);
    write_frame(folder / (name + s.frame_ext), s, frame_bgr(s, video, f));
  }
}

void validate(const SyntheticSpec& s) {
  require(s.num_train_videos >= 0 && s.num_test_videos >= 0, "synthetic MSR-VTT: negative video count");
  require(s.captions_per_video >= 1, "synthetic MSR-VTT: captions_per_video must be >= 1");
  require(s.frames_per_video >= 1 && s.frames_spread >= 0, "synthetic MSR-VTT: frames_per_video must be >= 1");
  require(s.width >= 1 && s.height >= 1, "synthetic MSR-VTT: frame size must be positive");
  require(s.frame_ext == ".jpg" || s.frame_ext == ".png",
          "synthetic MSR-VTT: frame_ext '" + s.frame_ext + "' is not .jpg or .png");
#if !CMA_WITH_OPENCV
  require(s.frame_ext == ".jpg" && jpeg_encoder_available(),
          "synthetic MSR-VTT: this build writes frames with TurboJPEG only (no OpenCV), so .jpg frames only");
#endif
  require(s.videos_with_empty_folder >= 0 && s.videos_without_folder >= 0 &&
              s.videos_with_empty_folder + s.videos_without_folder <= s.num_train_videos,
          "synthetic MSR-VTT: more broken videos than training videos");
}

void write_annotations(const fs::path& anns, const SyntheticSpec& s) {
  const int total = s.num_train_videos + s.num_test_videos;
  Rng r{s.seed ^ 0xA5A5A5A5ull};
  nlohmann::json sentences = nlohmann::json::array();
  for (int c = 0; c < s.captions_per_video; ++c) {
    for (int v = 0; v < total; ++v) {
      sentences.push_back({{"caption", caption(r)}, {"video_id", synthetic_video_id(v)}, {"sen_id", sentences.size()}});
    }
  }
  write_text(anns / "MSRVTT_data.json", nlohmann::json{{"sentences", sentences}}.dump(1) + "\n");

  std::string train9k = "video_id\n", train7k = "video_id\n";
  for (int v = s.num_train_videos - 1; v >= 0; --v) train9k += synthetic_video_id(v) + "\n";
  for (int v = 0; v < (s.num_train_videos * 7 + 8) / 9; ++v) train7k += synthetic_video_id(v) + "\n";
  write_text(anns / "MSRVTT_train.9k.csv", train9k);
  write_text(anns / "MSRVTT_train.7k.csv", train7k);

  std::string test = "key,vid_key,video_id,sentence\n";
  for (int t = s.num_test_videos - 1; t >= 0; --t) {
    const int v = s.num_train_videos + t;
    std::string sentence = caption(r);
    if (t % 2 == 0) sentence += ", saying \"hi\" twice";
    test += "ret" + std::to_string(t) + ",msr" + std::to_string(v) + "," + synthetic_video_id(v) + "," +
            csv_field(sentence) + "\n";
  }
  write_text(anns / "MSRVTT_JSFUSION_test.csv", test);
}

void write_tree(const std::string& root, const SyntheticSpec& s) {
  const fs::path anns = synthetic_anno_path(root), frames = synthetic_features_path(root);
  fs::create_directories(anns);
  fs::create_directories(frames);
  write_annotations(anns, s);
  const int first_broken = s.num_train_videos - s.videos_with_empty_folder - s.videos_without_folder;
  const int first_missing = s.num_train_videos - s.videos_without_folder;
  for (int v = 0; v < s.num_train_videos + s.num_test_videos; ++v) {
    const fs::path folder = frames / (synthetic_video_id(v) + ".mp4");
    const bool train = v < s.num_train_videos;
    if (train && v >= first_missing) {
      fs::remove_all(folder);
    } else if (train && v >= first_broken) {
      fs::remove_all(folder);
      fs::create_directories(folder);
    } else {
      fs::remove_all(folder);  // no stale frames from an earlier, longer tree
      write_frames(folder, s, v, synthetic_frame_count(s, v));
    }
  }
}

}  // namespace

void write_synthetic_msrvtt(const std::string& root, const SyntheticSpec& s) {
  validate(s);
  try {
    write_tree(root, s);
  } catch (const fs::filesystem_error& e) {
    throw Error("cannot write the synthetic MSR-VTT tree under " + root + ": " + e.what());
  }
}

}  // namespace cma::data
