// `cma demo`, reduced to about a minute: the whole story end to end (worlds, pretraining from
// scratch, the three methods on B, the report and the pictures), checked for its structure and
// for pretraining having learnt something.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <filesystem>

#include "cli_util.h"

#if CMA_WITH_OPENCV
#include <opencv2/imgcodecs.hpp>
#endif

namespace cma::testing {
namespace {

namespace fs = std::filesystem;

// Sized so that pretraining leaves the plateau every contrastive run starts on (loss near
// ln(batch)) within the test's time: many clips with few captions generalise, few clips with many
// do not. One thread, as ctest runs two tests at a time.
const char* const kReducedDemo =
    "demo --train-clips 800 --captions 2 --test-clips 50 --frames 2 --max-words 24 --batch-size 32 "
    "--pretrain-epochs 5 --epochs 1 --gallery 2 --threads 1";

TEST(Demo, ReducedRunWritesTheReportAndPretrainingLearns) {
  const TempDir dir("demo");
  const std::string out = dir / "demo";
  const auto r = run_cli(std::string(kReducedDemo) + " --out " + out);
  ASSERT_EQ(r.exit_code, 0) << r.output;
  for (const char* phase : {"[1/5] worlds", "[2/5] pretraining", "[3/5] zero-shot", "[4/5] full fine-tuning",
                            "[5/5] cross-modal adapters", "total "}) {
    EXPECT_NE(r.output.find(phase), std::string::npos) << "no line for '" << phase << "' in:\n" << r.output;
  }

  const auto report = nlohmann::json::parse(slurp(out + "/report.json"));
  EXPECT_EQ(report.at("format"), "cma.demo_report");
  const double chance = report.at("chance_R1").get<double>();
  EXPECT_DOUBLE_EQ(chance, 2.0);  // 50 test clips
  // Pretraining from scratch moved R@1 on A's test clips well above chance (the runs this was
  // sized on reached 6 to 7 times chance).
  const auto& pre = report.at("pretrain");
  EXPECT_GE(pre.at("t2v").at("R1").get<double>(), 4 * chance) << pre.dump(1);
  ASSERT_EQ(pre.at("curve").size(), 5u);
  EXPECT_LT(pre["curve"][4]["loss"].get<double>(), pre["curve"][0]["loss"].get<double>());
  const int64_t clip = pre.at("backbone_params").get<int64_t>();
  EXPECT_EQ(pre.at("trainable_params").get<int64_t>(), clip);  // --tune clip: the backbone, no adapters

  const auto& b = report.at("domain_b");
  ASSERT_EQ(b.size(), 3u);
  EXPECT_EQ(b[0]["key"], "zero_shot_b");
  EXPECT_EQ(b[1]["key"], "full_b");
  EXPECT_EQ(b[2]["key"], "adapters_b");
  EXPECT_EQ(b[0]["trainable_params"].get<int64_t>(), 0);
  EXPECT_EQ(b[0]["stored_bytes"].get<int64_t>(), 0);
  EXPECT_TRUE(b[0]["curve"].empty());
  EXPECT_EQ(b[1]["trainable_params"].get<int64_t>(), clip);
  const int64_t adapters = b[2]["trainable_params"].get<int64_t>();
  EXPECT_GT(adapters, 0);
  EXPECT_LT(adapters, clip / 100);  // under 1% of CLIP
  // What each stores: a whole CLIP in fp32, or only the adapters.
  EXPECT_GE(b[1]["stored_bytes"].get<int64_t>(), 4 * clip);
  EXPECT_LT(b[2]["stored_bytes"].get<int64_t>(), 4 * clip / 50);
  for (const auto& m : b) {
    for (const char* dir_key : {"t2v", "v2t"}) {
      for (const char* k : {"R1", "R5", "R10", "MR", "MeanR"}) EXPECT_TRUE(m[dir_key].contains(k)) << m.dump(1);
    }
    EXPECT_GT(m["peak_rss_bytes"].get<int64_t>(), 0);
  }
  for (int i : {1, 2}) {
    EXPECT_EQ(b[i]["curve"].size(), 1u);
    EXPECT_GT(b[i]["seconds_per_epoch"].get<double>(), 0);
  }

  const std::string md = slurp(out + "/report.md");
  for (const char* part : {"| method (domain B) | trainable params | % of CLIP | t2v R@1 | t2v R@5 | t2v MR | v2t R@1 |",
                           "| Zero-shot |", "| Full fine-tuning |", "| Cross-modal adapters |", "## What it shows",
                           "![", "curves.png", "gallery.png"}) {
    EXPECT_NE(md.find(part), std::string::npos) << "report.md lacks '" << part << "':\n" << md;
  }
  // The table printed on the console is the one in report.md.
  const auto table_start = md.find("| method");
  const auto table = md.substr(table_start, md.find("\n\n", table_start) - table_start);
  EXPECT_NE(r.output.find(table), std::string::npos) << r.output;
  // The pretrained CLIP is a weights file in OpenAI's names that --weights accepts.
  EXPECT_TRUE(fs::exists(out + "/pretrain_a/backbone_last.safetensors"));

#if CMA_WITH_OPENCV
  const auto curves = cv::imread(out + "/curves.png");
  ASSERT_FALSE(curves.empty());
  EXPECT_GT(curves.cols, curves.rows);  // two panels side by side
  const auto gallery = cv::imread(out + "/gallery.png");
  ASSERT_FALSE(gallery.empty());
#endif
}

TEST(Demo, RefusesBadOptionsBeforeAnyWork) {
  const TempDir dir("demo_bad");
  const auto big = run_cli("demo --out " + dir / "d" + " --train-clips 2 --captions 1 --batch-size 32");
  EXPECT_EQ(big.exit_code, 2);
  EXPECT_NE(big.output.find("--batch-size must be from 2 to the training pairs (2)"), std::string::npos) << big.output;
  const auto model = run_cli("demo --out " + dir / "d" + " --model ViT-B/32");
  EXPECT_EQ(model.exit_code, 2);
  EXPECT_NE(model.output.find("--model must be small or tiny"), std::string::npos) << model.output;
  const auto seed = run_cli("demo --out " + dir / "d" + " --seed=-1");
  EXPECT_NE(seed.exit_code, 0);
  EXPECT_FALSE(fs::exists(dir / "d/world_a")) << "work started despite a bad option";
}

}  // namespace
}  // namespace cma::testing
