// Hostile and mistaken input to the cma binary, as a new user would give it: each is refused before
// any work with one line naming the flag, key or file (exit 2, no stack trace, nothing written), or
// handled without losing a result (docs/robustness.md lists every case and its test).
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include "../train/run_fixture.h"
#include "cli_util.h"

#if CMA_HAVE_SYNTHETIC_FRAMES
namespace cma::testing {
namespace {

namespace fs = std::filesystem;

// Where a run's data and settings come from; each can be replaced by a test.
struct Inputs {
  std::string config = std::string(CMA_SOURCE_DIR) + "/configs/tiny_demo.json";
  std::string features_path;  // "": the tree's frames
};

// `cma <command>` on `tree` with the tiny demo config and `extra` flags, writing to `out`.
CliResult run_tiny(const std::string& command, const TinyTree& tree, const std::string& out,
                   const std::string& extra = "", const Inputs& in = {}) {
  const std::string frames = in.features_path.empty() ? data::synthetic_features_path(tree.root) : in.features_path;
  return run_cli(command + " --config " + in.config + " --threads 1 --anno_path " +
                 data::synthetic_anno_path(tree.root) + " --features_path " + frames + " --output_dir " + out + " " +
                 extra);
}

// The user's mistake was refused as one clear line: exit 2, `needle` in it, no C++ stack trace
// and no "internal error", and no result file in `out`.
void expect_refused(const CliResult& r, const std::string& needle, const std::string& out = "") {
  EXPECT_EQ(r.exit_code, 2) << r.output;
  EXPECT_NE(r.output.find(needle), std::string::npos) << "expected '" << needle << "' in:\n" << r.output;
  EXPECT_EQ(r.output.find("internal error"), std::string::npos) << r.output;
  EXPECT_EQ(r.output.find("frame #"), std::string::npos) << "a stack trace:\n" << r.output;
  if (!out.empty()) {
    for (const char* f : {"adapters_best.safetensors", "adapters_last.safetensors", "checkpoint.safetensors"}) {
      EXPECT_FALSE(fs::exists(out + "/" + f)) << f << " was written by a refused run";
    }
  }
}

size_t line_count(const std::string& path) {
  std::istringstream in(slurp(path));
  size_t n = 0;
  for (std::string line; std::getline(in, line);) n += !line.empty();
  return n;
}

TEST(Hardening, BatchLargerThanTheTrainingSetIsRefusedBeforeTraining) {
  const auto tree = make_tiny_tree("bigbatch", 3, 2);  // 6 training pairs
  const std::string out = tree / "run";
  expect_refused(run_tiny("train", tree, out, "--batch_size 8"), "--batch_size 8 is larger than the 6 training pairs",
                 out);
}

TEST(Hardening, HeaderOnlyTrainingCsvIsRefusedNamingIt) {
  const auto tree = make_tiny_tree("headeronly", 3, 2);
  const std::string csv = data::synthetic_anno_path(tree.root) + "/MSRVTT_train.9k.csv";
  std::string header;
  std::getline(std::ifstream(csv) >> std::ws, header);
  std::ofstream(csv, std::ios::trunc) << header << "\n";
  const std::string out = tree / "run";
  const auto r = run_tiny("train", tree, out);
  expect_refused(r, "the train split is empty", out);
  EXPECT_NE(r.output.find(csv), std::string::npos) << r.output;
}

TEST(Hardening, NumbersAreNeverCoerced) {
  const auto tree = make_tiny_tree("numbers", 3, 2);
  const std::string out = tree / "run";
  expect_refused(run_tiny("train", tree, out, "--batch_size 8.7"), "--batch-size", out);
  expect_refused(run_tiny("train", tree, out, "--seed -1"), "'-1' is not a whole number from 0", out);
  expect_refused(run_tiny("train", tree, out, "--lr inf"), "'inf' is not a finite number", out);
  expect_refused(run_tiny("train", tree, out, "--lr nan"), "'nan' is not a finite number", out);
  const std::string cfg = tree / "numbers.json";
  const auto with_config = [&](const std::string& json) {
    std::ofstream(cfg, std::ios::trunc) << json;
    Inputs in;
    in.config = cfg;
    return run_tiny("train", tree, out, "--pretrained_clip_name random:tiny --tokenizer bytes", in);
  };
  expect_refused(with_config(R"({"train": {"epochs": 1e10}})"), "'train.epochs' = 10000000000.0: not a whole number",
                 out);
  expect_refused(with_config(R"({"train": {"batch_size": 8.7}})"), "'train.batch_size' = 8.7", out);
  expect_refused(with_config(R"({"train": {"seed": -1}})"), "'train.seed' = -1", out);
  expect_refused(with_config(R"({"train": {"lr": "fast"}})"), "'train.lr' = \"fast\"", out);
  expect_refused(with_config(R"({"model": 5})"), "section 'model' must be a JSON object", out);
}

TEST(Hardening, CommandLineMistakesAreExplained) {
  const auto tree = make_tiny_tree("cli", 3, 2);
  const std::string out = tree / "run";
  auto r = run_tiny("train", tree, out, "--epochs 1 --epochs 2");
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.output.find("a flag was given more than once"), std::string::npos) << r.output;
  expect_refused(run_cli("train --threads -1 --output_dir " + out), "--threads must be >= 0", out);
#ifndef CMA_WITH_CUDA
  expect_refused(run_tiny("train", tree, out, "--device cuda"), "--device cuda: this cma was built against a CPU-only",
                 out);
#endif
  expect_refused(run_tiny("train", tree, out, "--device tpu"), "--device 'tpu' is not cpu, cuda or cuda:N", out);
  expect_refused(run_tiny("train", tree, out, "--cpu_gemm mkl"), "--cpu_gemm 'mkl' is not one of auto, onednn, openblas",
                 out);
}

TEST(Hardening, OutputFolderThatCannotBeMadeIsNamed) {
  const auto tree = make_tiny_tree("outfile", 3, 2);
  const std::string file = tree / "a_file";
  std::ofstream(file) << "x";
  expect_refused(run_tiny("train", tree, file + "/run"), file + " is a file");
}

TEST(Hardening, WrongFeaturesPathFailsBeforeTrainingInFewLines) {
  const auto tree = make_tiny_tree("wrongframes", 12, 3);
  const std::string out = tree / "run";
  Inputs in;
  in.features_path = tree / "nowhere";
  const auto r = run_tiny("train", tree, out, "", in);
  expect_refused(r, "train: none of its 12 videos can be used; check --features_path " + (tree / "nowhere"), out);
  EXPECT_LT(std::count(r.output.begin(), r.output.end(), '\n'), 25) << "one line per video?\n" << r.output;
}

TEST(Hardening, BadVideosAreLeftOutBeforeTrainingOrRefusedOnRequest) {
  const auto tree = make_tiny_tree("badvideos", 6, 2);
  const std::string frames = data::synthetic_features_path(tree.root);
  // A truncated frame in video1 and a header claiming 20000 x 20000 pixels in video3.
  const auto cut = [](const std::string& path, size_t keep) { fs::resize_file(path, keep); };
  cut(frames + "/video1.mp4/00001.jpg", fs::file_size(frames + "/video1.mp4/00001.jpg") / 2);
  {
    std::fstream f(frames + "/video3.mp4/00000.jpg", std::ios::in | std::ios::out | std::ios::binary);
    std::string bytes((std::istreambuf_iterator<char>(f)), {});
    const auto sof = bytes.find("\xFF\xC0");
    ASSERT_NE(sof, std::string::npos);
    f.seekp(static_cast<std::streamoff>(sof + 5));
    f.write("\x4E\x20\x4E\x20", 4);  // height, width = 20000
  }
  const std::string out = tree / "run";
  auto r = run_tiny("train", tree, out, "--epochs 1 --batch_size 4");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("train: left out 2 of 6 videos (4 of 12 pairs"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("20000 x 20000"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("truncated"), std::string::npos) << r.output;
  r = run_tiny("train", tree, tree / "run_strict", "--epochs 1 --batch_size 4 --bad-videos error");
  expect_refused(r, "train: video video1 cannot be used", tree / "run_strict");
}

TEST(Hardening, VideoMissingFromTheFrameCacheIsLeftOutBeforeTraining) {
  const auto tree = make_tiny_tree("cachemissing", 6, 2);
  const std::string frames = data::synthetic_features_path(tree.root);
  // cma prepare skips a video without frames, so the cache does not hold it.
  fs::rename(frames + "/video2.mp4", tree / "video2_aside");
  auto r = run_cli("prepare --out " + (tree / "frames2.cache") + " --frame-size 32 --anno_path " +
              data::synthetic_anno_path(tree.root) + " --features_path " + frames);
  ASSERT_EQ(r.exit_code, 0) << r.output;
  r = run_tiny("train", tree, tree / "run", "--epochs 1 --batch_size 4 --frames_cache " + (tree / "frames2.cache"));
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("video2: not in the frame cache"), std::string::npos) << r.output;
}

TEST(Hardening, MaxStepsLeavesAnAdapterFileThatEvalReadsAndAHigherLimitContinues) {
  const auto tree = make_tiny_tree("maxsteps", 6, 3);
  const std::string out = tree / "run";
  auto r = run_tiny("train", tree, out, "--epochs 2 --batch_size 4 --max-steps 2");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  ASSERT_TRUE(fs::exists(out + "/adapters_last.safetensors")) << r.output;
  EXPECT_NE(r.output.find("stopped at --max-steps 2"), std::string::npos) << r.output;
  r = run_tiny("eval", tree, tree / "eval", "--adapters " + out + "/adapters_last.safetensors");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_TRUE(fs::exists(tree / "eval/eval.json"));
  r = run_tiny("train", tree, out, "--epochs 2 --batch_size 4 --max-steps 4");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("resumed from"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("stopped at --max-steps 4"), std::string::npos) << r.output;
}

TEST(Hardening, EvaluatingATrainingRunKeepsItsResults) {
  const auto tree = make_tiny_tree("evalkeeps", 6, 3);
  const std::string out = tree / "run";
  auto r = run_tiny("train", tree, out, "--epochs 2 --batch_size 4");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  const std::string metrics = slurp(out + "/metrics.jsonl"), eval = slurp(out + "/eval.json");
  ASSERT_GT(line_count(out + "/metrics.jsonl"), 2u);
  // The README's evaluation command with the training's own output folder.
  r = run_tiny("eval", tree, out, "--adapters " + out + "/adapters_best.safetensors");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_EQ(slurp(out + "/metrics.jsonl"), metrics);
  EXPECT_EQ(slurp(out + "/eval.json"), eval);
  EXPECT_TRUE(fs::exists(out + "/eval_adapters_best.json"));
  // Training again into the finished run does nothing, so no evaluation is recorded twice.
  r = run_tiny("train", tree, out, "--epochs 2 --batch_size 4");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("holds a finished run"), std::string::npos) << r.output;
  EXPECT_EQ(slurp(out + "/metrics.jsonl"), metrics);
}

}  // namespace
}  // namespace cma::testing
#else
TEST(Hardening, NeedsAFrameEncoder) {
  GTEST_SKIP() << "built without OpenCV and TurboJPEG (CMA_HAVE_SYNTHETIC_FRAMES): no synthetic frames to train on";
}
#endif
