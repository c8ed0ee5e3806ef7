// The cma binary as a user runs it: the seed command, configs, flag errors, signals and resume,
// and the end-to-end loss curve against a checked-in expectation.
#include <ATen/Context.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <unistd.h>

#include <chrono>
#include <cmath>
#include <filesystem>
#include <iostream>
#include <thread>
#include <vector>

#include "../train/run_fixture.h"
#include "cli_util.h"
#include "cma/core/safetensors.h"
#include "cma/core/tensor_io.h"
#include "cma/model/cpu_gemm.h"

#if CMA_HAVE_SYNTHETIC_FRAMES
namespace cma::testing {
namespace {

namespace fs = std::filesystem;

// Also one compute thread: under ctest -j 2, two runs each with a oneDNN pool over every core fight
// (Cli.SigtermCheckpointsAndRerunResumesBitwise took 88 s on a 2-core AVX-512 machine).
std::string data_flags(const TinyTree& tree) {
  return " --anno_path " + data::synthetic_anno_path(tree.root) + " --features_path " +
         data::synthetic_features_path(tree.root) + " --threads 1";
}

// The CLIP BPE vocabulary vendored in third_party/clip/.
std::string vocab_env() {
  return "CMA_BPE_VOCAB=" + std::string(CMA_SOURCE_DIR) + "/third_party/clip/bpe_simple_vocab_16e6.txt.gz";
}

TEST(Cli, SeedCommandIsAcceptedFlagForFlag) {
  const auto tree = make_tiny_tree("seedcmd");
  const std::string out = tree / "seed";
  // The reference's README command, with the launcher dropped, random weights, a small batch and one epoch.
  const auto r = run_cli(
      "train --workers 8 --epochs=1 --batch_size=8 --datatype msrvtt" + data_flags(tree) +
          " --max_frames 12 --loose_type --pretrained_clip_name random:tiny --dataset_type img --clip_lr 1e-7"
          " --lr 1e-5 --output_dir " + out + " --adapter_reduction_dims 8 --adapter_share_dim 16"
          " --adapter_init_std 0.01 --adapter_non_linearity quick_gelu --seed 42 --adapter_convert2fp16",
      vocab_env());
  ASSERT_EQ(r.exit_code, 0) << r.output;
  for (const char* f : {"config.json", "log.txt", "metrics.jsonl", "adapters_epoch1.safetensors",
                        "adapters_best.safetensors", "checkpoint.safetensors", "eval.json"}) {
    EXPECT_TRUE(fs::exists(out + "/" + f)) << f << "\n" << r.output;
  }
  const auto cfg = nlohmann::json::parse(slurp(out + "/config.json"));
  EXPECT_EQ(cfg["model"]["adapter_share_dim"], 16);
  EXPECT_EQ(cfg["data"]["max_frames"], 12);
  EXPECT_EQ(cfg["train"]["batch_size"], 8);
}

// Every shipped config is accepted as it is, and its --datatype reaches that data set's reader:
// with an empty --anno_path the run stops naming a file the reader expects there.
TEST(Cli, EveryConfigIsValidAndReadsItsDataSet) {
  const TempDir dir("configs");
  int seen = 0;
  for (const auto& entry : fs::directory_iterator(std::string(CMA_SOURCE_DIR) + "/configs")) {
    const std::string name = entry.path().filename().string();
    const auto r = run_cli("train --config " + entry.path().string() + " --pretrained_clip_name random:tiny" +
                           " --tokenizer bytes --anno_path " + dir.path() + " --output_dir " + (dir / name));
    EXPECT_NE(r.exit_code, 0) << name << ":\n" << r.output;
    EXPECT_NE(r.output.find("cannot open"), std::string::npos) << name << ":\n" << r.output;
    EXPECT_NE(r.output.find(dir.path() + "/"), std::string::npos) << name << ":\n" << r.output;
    seen += 1;
  }
  EXPECT_GE(seen, 9);  // one per data set (coco and flickr30k apart) and tiny_demo
}

TEST(Cli, UnknownFlagListsValidOnes) {
  const auto r = run_cli("train --adapter-shared-dim 16");
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.output.find("--adapter-shared-dim"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("--adapter-share-dim"), std::string::npos) << "valid flags should be listed:\n" << r.output;
}

TEST(Cli, ConfigUnknownKeyAndFlagsWin) {
  const auto tree = make_tiny_tree("config");
  const std::string cfg = tree / "cfg.json";
  std::ofstream(cfg) << R"({"train": {"lr": 0.5, "epochs": 1, "max_steps": 1, "batch_size": 8}, "model": {"pretrained_clip_name": "random:tiny"},
                          "data": {"tokenizer": "bytes"}})";
  const std::string out = tree / "cfgrun";
  auto r = run_cli("train --config " + cfg + " --lr 0.002 --output_dir " + out + data_flags(tree));
  ASSERT_EQ(r.exit_code, 0) << r.output;
  const auto resolved = nlohmann::json::parse(slurp(out + "/config.json"));
  EXPECT_DOUBLE_EQ(resolved["train"]["lr"].get<double>(), 0.002);  // the flag wins
  EXPECT_EQ(resolved["train"]["max_steps"], 1);                     // the config fills the rest
  std::ofstream(cfg) << R"({"train": {"learning_rate": 0.1}})";
  r = run_cli("train --config " + cfg + " --output_dir " + out + data_flags(tree));
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.output.find("unknown key 'train.learning_rate'"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("lr"), std::string::npos) << r.output;
}

TEST(Cli, MissingWeightsSayWhereTheyWereLookedFor) {
  const auto tree = make_tiny_tree("noweights");
  const TempDir home("no_home");  // an empty HOME: no ~/.cache/clip
  const auto r = run_cli("train --pretrained_clip_name ViT-L/14 --output_dir " + (tree / "nw") + data_flags(tree),
                         "HOME=" + home.path());
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.output.find(home.path() + "/.cache/clip/ViT-L-14.pt"), std::string::npos) << r.output;
}

TensorMap adapters(const std::string& path) {
  st::File f(path);
  return load_tensors(f);
}

TEST(Cli, SigtermCheckpointsAndRerunResumesBitwise) {
  const auto tree = make_tiny_tree("sigterm");
  const std::string args = "train --config " + std::string(CMA_SOURCE_DIR) + "/configs/tiny_demo.json --epochs 30" +
                           data_flags(tree) + " --log-every 1 --output_dir ";
  const std::string full = tree / "full", cut = tree / "cut";
  ASSERT_EQ(run_cli(args + full).exit_code, 0);

  const pid_t pid = ::fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    const std::string cmd = std::string("exec ") + CMA_BINARY + " " + args + cut + " > /dev/null 2>&1";
    ::execl("/bin/sh", "sh", "-c", cmd.c_str(), static_cast<char*>(nullptr));
    ::_exit(127);
  }
  // Wait until a few steps are logged, then stop it mid-run.
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(120);
  while (std::chrono::steady_clock::now() < deadline) {
    const auto m = slurp(cut + "/metrics.jsonl");
    if (std::count(m.begin(), m.end(), '\n') >= 7) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  ::kill(pid, SIGTERM);
  int status = 0;
  ::waitpid(pid, &status, 0);
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 143) << "a SIGTERM stop exits 143 after checkpointing";
  const auto resumed = run_cli(args + cut);
  ASSERT_EQ(resumed.exit_code, 0) << resumed.output;
  EXPECT_NE(resumed.output.find("resumed from"), std::string::npos) << resumed.output;
  const auto a = adapters(full + "/adapters_epoch30.safetensors");
  const auto b = adapters(cut + "/adapters_epoch30.safetensors");
  ASSERT_FALSE(a.empty());
  ASSERT_EQ(a.size(), b.size());
  for (const auto& kv : a) EXPECT_TRUE(torch::equal(kv.second, b.at(kv.first))) << kv.first;
  EXPECT_FALSE(slurp(full + "/metrics.jsonl").empty());
}

TEST(Cli, DemoPathSyntheticPrepareTrainEval) {
  const TempDir tmp("cli_demo");
  const std::string root = tmp / "demo";
  auto r = run_cli("synthetic --out " + root + " --train-videos 8 --test-videos 6 --captions 2 --frames 3 --width 40 --height 32");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  const std::string data = " --anno_path " + root + "/anns --features_path " + root + "/frames";
  r = run_cli("prepare --out " + root + "/frames.cache --frame-size 32 --workers 2" + data);
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("added 14 videos"), std::string::npos) << r.output;
  r = run_cli("prepare --out " + root + "/frames.cache --frame-size 32" + data);  // nothing left to add
  EXPECT_NE(r.output.find("added 0 videos"), std::string::npos) << r.output;
  const std::string cfg = " --config " + std::string(CMA_SOURCE_DIR) + "/configs/tiny_demo.json --threads 1";
  r = run_cli("train" + cfg + " --epochs 2" + data + " --frames-cache " + root + "/frames.cache --output_dir " + root + "/run");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  r = run_cli("eval" + cfg + data + " --adapters " + root + "/run/adapters_best.safetensors --dsl --output_dir " + root + "/eval");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  const auto j = nlohmann::json::parse(slurp(root + "/eval/eval.json"));
  EXPECT_TRUE(j.contains("plain") && j.contains("dsl")) << j.dump();
  EXPECT_NE(r.output.find("[DSL re-weighted]"), std::string::npos) << r.output;
  // An evaluation says nothing about training, and prints each metric under its name in eval.json.
  for (const char* training_only : {"training pairs", "parameters train"}) {
    EXPECT_EQ(r.output.find(training_only), std::string::npos) << "'" << training_only << "' in:\n" << r.output;
  }
  for (const char* key : {"t2v: R1 ", " R5 ", " R10 ", " MR ", " MeanR ", "v2t: R1 "}) {
    EXPECT_NE(r.output.find(key), std::string::npos) << "'" << key << "' not in:\n" << r.output;
  }
  // Each library on request (their numbers may differ in the last bits, so no comparison).
  for (const std::string lib : {"openblas", "onednn"}) {
    if (lib == "onednn" && !model::onednn_check().ok) continue;  // refused here (CpuGemm.WrongOneDnnIsNeverChosen)
    r = run_cli("eval" + cfg + data + " --adapters " + root + "/run/adapters_best.safetensors --cpu_gemm " + lib +
                " --output_dir " + root + "/eval_" + lib);
    ASSERT_EQ(r.exit_code, 0) << r.output;
    EXPECT_NE(r.output.find(lib == "onednn" ? "products on oneDNN" : "(products on OpenBLAS)"), std::string::npos)
        << r.output;
    EXPECT_TRUE(nlohmann::json::parse(slurp(root + "/eval_" + lib + "/eval.json")).contains("plain"));
  }
}

TEST(Cli, MpirunTwoRanksTrain) {
  if (std::system("command -v mpirun > /dev/null 2>&1") != 0) GTEST_SKIP() << "mpirun is not installed (openmpi-bin)";
  const auto tree = make_tiny_tree("mpirun");
  const std::string out = tree / "mpirun";
  const std::string port = std::to_string(free_port());
  const std::string cmd = "mpirun --allow-run-as-root --oversubscribe -np 2 " + std::string(CMA_BINARY) +
                          " train --config " + CMA_SOURCE_DIR + "/configs/tiny_demo.json --epochs 1" +
                          data_flags(tree) + " --master_port " + port + " --output_dir " + out + " > " + out +
                          ".log 2>&1";
  const int status = std::system(cmd.c_str());
  ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << slurp(out + ".log");
  EXPECT_NE(slurp(out + ".log").find("rank 0 of 2 (gloo backend)"), std::string::npos) << slurp(out + ".log");
  EXPECT_TRUE(fs::exists(out + "/adapters_epoch1.safetensors"));
}

// The loss curve of configs/tiny_demo.json on a fixed synthetic tree, one value per logged step.
std::vector<double> tiny_demo_losses(const TinyTree& tree) {
  const std::string out = tree / "e2e";
  const auto r = run_cli("train --config " + std::string(CMA_SOURCE_DIR) + "/configs/tiny_demo.json --epochs 10 " +
                         data_flags(tree) + " --output_dir " + out);
  EXPECT_EQ(r.exit_code, 0) << r.output;
  std::vector<double> losses;
  std::istringstream lines(slurp(out + "/metrics.jsonl"));
  for (std::string line; std::getline(lines, line);) {
    const auto j = nlohmann::json::parse(line);
    if (j["type"] == "train") losses.push_back(j["loss"]);
  }
  return losses;
}

const std::string kExpectedLossesPath = std::string(CMA_SOURCE_DIR) + "/tests/app/expected_tiny_losses.json";

// Compares against the checked-in tests/app/expected_tiny_losses.json, which it never writes;
// Cli.DISABLED_WriteEndToEndExpectation below regenerates it on purpose.
TEST(Cli, EndToEndLossesMatchExpectationAndDecrease) {
  const auto tree = make_tiny_tree("e2e");
  const auto losses = tiny_demo_losses(tree);
  ASSERT_GE(losses.size(), 24u);
  const auto expected = nlohmann::json::parse(slurp(kExpectedLossesPath)).get<std::vector<double>>();
  const std::string regenerate =
      "\nIf the change is intended, regenerate the expectation with: " +
      fs::read_symlink("/proc/self/exe").string() +
      " --gtest_also_run_disabled_tests --gtest_filter=Cli.DISABLED_WriteEndToEndExpectation\nobserved: " +
      nlohmann::json(losses).dump();
  ASSERT_EQ(expected.size(), losses.size()) << regenerate;
  int off = 0;
  for (size_t i = 0; i < losses.size(); ++i) {
    EXPECT_NEAR(losses[i], expected[i], 1e-4) << "step " << i + 1;
    off += std::abs(losses[i] - expected[i]) > 1e-4;
  }
  EXPECT_EQ(off, 0) << regenerate;
  const auto mean = [&](size_t from, size_t n) {
    double s = 0;
    for (size_t i = from; i < from + n; ++i) s += losses[i];
    return s / n;
  };
  EXPECT_LT(mean(losses.size() - 6, 6), mean(0, 6) - 0.05) << "the loss should fall";
}

// Not a test: writes tests/app/expected_tiny_losses.json from this build's run. Disabled so that
// it runs only when asked for (--gtest_also_run_disabled_tests), after a deliberate change.
TEST(Cli, DISABLED_WriteEndToEndExpectation) {
  const auto tree = make_tiny_tree("e2e_write");
  const auto losses = tiny_demo_losses(tree);
  ASSERT_GE(losses.size(), 24u);
  std::ofstream(kExpectedLossesPath) << nlohmann::json(losses).dump(1) << "\n";
  std::cout << "wrote " << losses.size() << " losses to " << kExpectedLossesPath << "\n";
}

}  // namespace
}  // namespace cma::testing
#else
TEST(Cli, NeedsAFrameEncoder) {
  GTEST_SKIP() << "built without OpenCV and TurboJPEG (CMA_HAVE_SYNTHETIC_FRAMES): no synthetic frames to train on";
}
#endif
