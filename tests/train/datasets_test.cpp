// Every evaluation protocol end to end on generated data: a tiny CLIP trains a few steps and is
// evaluated on annotations written in each data set's layout, over the frames of one synthetic tree.
#include <gtest/gtest.h>

#include <fstream>
#include <functional>

#include "cma/core/atomic_file.h"
#include "cma/data/caption_sets.h"
#include "../app/cli_util.h"
#include "run_fixture.h"

#if CMA_WITH_OPENCV
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

namespace cma::testing {
namespace {

namespace fs = std::filesystem;

// Trains (or, with tune none, only evaluates) and returns eval.json.
nlohmann::json run_and_read_eval(train::RunConfig c) {
  auto comm = dist::make_single_process();
  train::Trainer t(c, *comm);
  EXPECT_EQ(t.run(), 0);
  return nlohmann::json::parse(read_text(c.train.output_dir + "/eval.json"));
}

// The tree's MSR-VTT splits, re-read: the captions every layout below is written from.
data::Splits tree_splits(const TinyTree& tree) {
  data::DataOptions o;
  o.anno_path = data::synthetic_anno_path(tree.root);
  return data::read_msrvtt(o);
}

void expect_metrics(const nlohmann::json& two_way) {
  for (const char* dir : {"t2v", "v2t"}) {
    ASSERT_TRUE(two_way.contains(dir)) << two_way;
    const double r1 = two_way[dir]["R1"], r10 = two_way[dir]["R10"], mdr = two_way[dir]["MR"];
    EXPECT_GE(r1, 0.0);
    EXPECT_LE(r1, r10);
    EXPECT_LE(r10, 100.0);
    EXPECT_GE(mdr, 1.0);
  }
}

// A multi-caption test set whose videos have one caption each scores exactly as the square
// protocol does: the captions embedded apart from their videos give the same similarities.
TEST(Protocols, MultiCaptionWithOneCaptionPerVideoMatchesSingle) {
  const auto tree = make_tiny_tree("proto_one", 6, 7);
  auto splits = tree_splits(tree);
  fs::create_directories(tree / "capset");
  std::vector<nlohmann::json> results;
  for (auto protocol : {data::TestProtocol::Single, data::TestProtocol::MultiCaption}) {
    splits.test_protocol = protocol;
    data::write_caption_set(tree / "capset/caption_set.json", splits);
    auto c = tiny_run(tree, "proto_one");
    c.data.datatype = data::Datatype::CaptionSet;
    c.data.anno_path = tree / "capset";
    c.train.tune = train::Tune::None;
    const auto eval = run_and_read_eval(c);
    EXPECT_EQ(eval["pairs"], 7);
    EXPECT_EQ(eval.contains("videos"), protocol == data::TestProtocol::MultiCaption);
    results.push_back(eval["plain"]);
  }
  expect_metrics(results[0]);
  EXPECT_EQ(results[0]["v2t"], results[1]["v2t"]);
  for (const char* key : {"R1", "R5", "R10", "MR", "MeanR"}) {
    EXPECT_NEAR(results[0]["t2v"][key].get<double>(), results[1]["t2v"][key].get<double>(), 1e-4) << key;
  }
}

// Several captions per test video: every caption is a query, every video is embedded once.
TEST(Protocols, MultiCaptionTrainsAndEvaluatesEveryCaption) {
  const auto tree = make_tiny_tree("proto_multi", 6, 5);
  auto splits = tree_splits(tree);
  std::vector<data::Pair> test;
  for (size_t v = 0; v < splits.test.size(); ++v) {
    for (size_t k = 0; k <= v % 3; ++k) test.push_back({splits.test[v].video_id, "caption " + std::to_string(k) + " of " + splits.test[v].caption});
  }
  splits.test = test;
  splits.test_protocol = data::TestProtocol::MultiCaption;
  fs::create_directories(tree / "capset");
  data::write_caption_set(tree / "capset/caption_set.json", splits);
  auto c = tiny_run(tree, "proto_multi");
  c.data.datatype = data::Datatype::CaptionSet;
  c.data.anno_path = tree / "capset";
  c.train.epochs = 1;
  const auto eval = run_and_read_eval(c);
  EXPECT_EQ(eval["pairs"], test.size());
  EXPECT_EQ(eval["videos"], 5);
  expect_metrics(eval["plain"]);
}

void write_text(const fs::path& path, const std::string& text) {
  fs::create_directories(path.parent_path());
  std::ofstream(path, std::ios::binary) << text;
}

// Each data set's own layout, written from the tree's captions (test videos get `extra` more
// captions each where the layout has several), read with its --datatype.
struct LayoutCase {
  const char* name;
  data::Datatype datatype;
  std::function<void(const data::Splits&, const std::string& anno)> write;
};

// LSMDC: tab-separated clip_id, four times, sentence; one caption per test clip (square).
void write_lsmdc(const data::Splits& s, const std::string& anno) {
  const auto tsv = [](const std::vector<data::Pair>& pairs) {
    std::string out;
    for (const auto& p : pairs) out += p.video_id + "\t0\t1\t0\t1\t" + p.caption + "\n";
    return out;
  };
  write_text(anno + "/LSMDC16_annos_training.csv", tsv(s.train));
  write_text(anno + "/LSMDC16_challenge_1000_publictect.csv", tsv(s.test));
}

// VATEX: arrays of {videoID, enCap, chCap}; three English captions per test video.
void write_vatex(const data::Splits& s, const std::string& anno) {
  const auto videos = [](const std::vector<data::Pair>& pairs, int extra) {
    nlohmann::json out = nlohmann::json::array();
    for (const auto& p : pairs) {
      nlohmann::json caps = {p.caption};
      for (int k = 0; k < extra; ++k) caps.push_back("also " + std::to_string(k) + ": " + p.caption);
      out.push_back({{"videoID", p.video_id}, {"enCap", caps}, {"chCap", {"视频"}}});
    }
    return out;
  };
  write_text(anno + "/vatex_training_v1.0.json", videos(s.train, 0).dump());
  write_text(anno + "/vatex_validation_v1.0.json", videos(s.test, 2).dump());
}

// DiDeMo: arrays of {video, description, times}; each test video described in two moments,
// joined into one paragraph.
void write_didemo(const data::Splits& s, const std::string& anno) {
  const auto moments = [](const std::vector<data::Pair>& pairs, int per_video) {
    nlohmann::json out = nlohmann::json::array();
    for (int k = 0; k < per_video; ++k) {
      for (const auto& p : pairs) {
        out.push_back({{"video", p.video_id}, {"description", std::to_string(k) + " " + p.caption},
                       {"times", {{k, k + 1}}}});
      }
    }
    return out;
  };
  write_text(anno + "/train_data.json", moments(s.train, 1).dump());
  write_text(anno + "/test_data.json", moments(s.test, 2).dump());
}

TEST(Protocols, EveryLayoutTrainsAndEvaluates) {
  const auto tree = make_tiny_tree("proto_layouts", 6, 5);
  const auto splits = tree_splits(tree);
  const std::vector<LayoutCase> cases = {{"lsmdc", data::Datatype::Lsmdc, write_lsmdc},
                                         {"vatex", data::Datatype::Vatex, write_vatex},
                                         {"didemo", data::Datatype::Didemo, write_didemo}};
  for (const auto& layout : cases) {
    SCOPED_TRACE(layout.name);
    layout.write(splits, tree / std::string(layout.name));
    auto c = tiny_run(tree, std::string("run_") + layout.name);
    c.data.datatype = layout.datatype;
    c.data.anno_path = tree / std::string(layout.name);
    c.train.epochs = 1;
    const auto eval = run_and_read_eval(c);
    expect_metrics(eval["plain"]);
    if (layout.datatype == data::Datatype::Vatex) {
      EXPECT_EQ(eval["pairs"], 15) << "three captions for each of 5 videos";
      EXPECT_EQ(eval["videos"], 5);
    } else {
      EXPECT_EQ(eval["pairs"], 5) << "one caption (or paragraph) per video";
      EXPECT_FALSE(eval.contains("videos"));
    }
  }
}

// Flickr30K in Karpathy's layout: each image is a one-frame clip, five captions per test image.
TEST(Protocols, ImageTextTrainsAndEvaluatesOnImages) {
  TempDir dir("proto_images");
  nlohmann::json images = nlohmann::json::array();
  fs::create_directories(dir / "images");
  for (int i = 0; i < 10; ++i) {
    const std::string name = "img" + std::to_string(i) + ".jpg";
    cv::Mat img(40, 48, CV_8UC3, cv::Scalar(20 * i, 255 - 20 * i, (i % 3) * 100));
    cv::circle(img, {10 + 3 * i, 20}, 6, cv::Scalar(255, 255, 255), -1);
    ASSERT_TRUE(cv::imwrite(dir / ("images/" + name), img)) << name;
    nlohmann::json sentences = nlohmann::json::array();
    for (int k = 0; k < 5; ++k) sentences.push_back({{"raw", "picture " + std::to_string(i) + " take " + std::to_string(k)}});
    images.push_back({{"filename", name}, {"split", i < 6 ? "train" : "test"}, {"sentences", sentences}});
  }
  write_text(dir / "anns/dataset_flickr30k.json", nlohmann::json({{"images", images}}).dump());
  TinyTree unused("proto_images_runs", 1, 1);
  auto c = tiny_run(unused, "run");
  c.data.datatype = data::Datatype::Flickr30k;
  c.data.anno_path = dir / "anns";
  c.data.features_path = dir / "images";
  c.data.max_frames = 1;
  c.train.epochs = 1;
  const auto eval = run_and_read_eval(c);
  EXPECT_EQ(eval["pairs"], 20);
  EXPECT_EQ(eval["videos"], 4);
  expect_metrics(eval["plain"]);
  // cma prepare caches the images of both splits, and a run from the cache scores the same.
  const std::string cache = dir / "images.cache";
  const auto prepared = run_cli("prepare --datatype flickr30k --anno_path " + c.data.anno_path + " --features_path " +
                                c.data.features_path + " --frame-size 32 --out " + cache);
  ASSERT_EQ(prepared.exit_code, 0) << prepared.output;
  EXPECT_NE(prepared.output.find("added 10 videos (10 frames)"), std::string::npos) << prepared.output;
  c.data.frames_cache = cache;
  c.train.output_dir = dir / "run_cached";
  EXPECT_EQ(run_and_read_eval(c)["plain"], eval["plain"]);
}

}  // namespace
}  // namespace cma::testing
#endif
