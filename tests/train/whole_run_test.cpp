// The reference's own train.py, run end to end (parity/whole_run: its README says how): `cma train`
// on the same tree, from the same CLIP and initial adapters, with the same options and the
// reference's batch order, must log every step's loss within 1e-5 of the reference's and compute
// every evaluation's metrics exactly, alone and as two ranks under mpirun.
//
// The fixture holds a 14 MB CLIP that is not copied into tests/data/, so it is found in ../shared
// (or $CMA_SHARED_DIR); without it the tests skip and say where they looked.
#include <gtest/gtest.h>
#include <sys/wait.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "../app/cli_util.h"
#include "test_paths.h"
#include "test_tmp.h"

namespace cma::testing {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

constexpr double kLossTolerance = 1e-5;
// bf16 backbone (docs/reference.md): each loss within this fraction of the reference's fp32 loss.
constexpr double kBf16LossTolerance = 1e-2;

struct WholeRun {
  std::string dir;  // the fixture folder: clip.pt, init_adapters.safetensors, tree/, expected.json
  json expected;
};

// The fixture, or a skip message naming where it was looked for.
bool find_whole_run(WholeRun* run, std::string* why) {
  const std::string relative = "parity/whole_run/expected.json";
  const std::string path = fixture(relative);
  if (path.empty()) {
    *why = relative + " is in neither " + std::string(CMA_SOURCE_DIR) + "/tests/data nor " + shared_dir() +
           " (set CMA_SHARED_DIR to the folder holding parity/whole_run/)";
    return false;
  }
  run->dir = fs::path(path).parent_path().string();
  if (!fs::exists(run->dir + "/clip.pt")) {
    *why = run->dir + " has expected.json but not clip.pt, the CLIP the reference started from";
    return false;
  }
  run->expected = json::parse(slurp(path));
  return true;
}

// `cma train`'s arguments for the reference's run: every option of expected.json's config as the
// flag of the same name (the reference's spellings), plus the starting CLIP and adapters, the
// vendored BPE vocabulary, a log line per step and one compute thread (as the reference ran).
std::string train_args(const WholeRun& run, const std::string& out) {
  static const std::set<std::string> not_flags = {"world_size", "tokenizer"};
  std::string args = " train";
  const json& config = run.expected.at("config");
  for (auto it = config.begin(); it != config.end(); ++it) {
    if (not_flags.count(it.key())) continue;
    const json& v = it.value();
    if (v.is_boolean()) {
      args += " --" + it.key() + (v.get<bool>() ? "" : "=false");
    } else {
      args += " --" + it.key() + " " + (v.is_string() ? v.get<std::string>() : v.dump());
    }
  }
  return args + " --pretrained_clip_name " + run.dir + "/clip.pt --adapters " + run.dir +
         "/init_adapters.safetensors --anno_path " + run.dir + "/tree/anns --features_path " + run.dir +
         "/tree/frames --tokenizer clip --bpe_vocab " + CMA_SOURCE_DIR +
         "/third_party/clip/bpe_simple_vocab_16e6.txt.gz --log-every 1 --threads 1 --output_dir " + out;
}

struct Logged {
  std::vector<double> losses;  // per optimizer step, in order
  std::vector<json> evals;     // per evaluation: {"t2v": {...}, "v2t": {...}}
};

Logged read_metrics(const std::string& out) {
  Logged l;
  std::istringstream lines(slurp(out + "/metrics.jsonl"));
  for (std::string line; std::getline(lines, line);) {
    const auto j = json::parse(line);
    if (j.at("type") == "train") {
      EXPECT_EQ(j.at("step").get<int64_t>(), static_cast<int64_t>(l.losses.size()) + 1) << line;
      l.losses.push_back(j.at("loss").get<double>());
    } else if (j.at("type") == "eval") {
      l.evals.push_back(j);
    }
  }
  return l;
}

// Every step's loss within `tolerance` of the reference's, relative to it (`relative`) or absolute.
// Returns the largest difference.
double expect_losses(const std::string& label, const Logged& got, const json& expected, double tolerance,
                     bool relative) {
  const auto want = expected.at("losses").get<std::vector<double>>();
  EXPECT_EQ(got.losses.size(), want.size()) << label << ": logged steps";
  double worst = 0;
  for (size_t i = 0; i < std::min(got.losses.size(), want.size()); ++i) {
    const double d = std::abs(got.losses[i] - want[i]) / (relative ? std::abs(want[i]) : 1.0);
    worst = std::max(worst, d);
    EXPECT_LE(d, tolerance) << label << " step " << i + 1 << ": cma " << got.losses[i] << ", reference " << want[i];
  }
  return worst;
}

// Every step's loss within kLossTolerance; every metric of every evaluation exactly. `label`
// names the run in messages. Returns the largest loss difference.
double expect_matches(const std::string& label, const Logged& got, const json& expected) {
  const double worst = expect_losses(label, got, expected, kLossTolerance, false);
  // The reference appends text-to-video then video-to-text after each epoch. Its MR and MedianR
  // are both the median rank, which cma records as MR.
  const auto& evals = expected.at("evals");
  EXPECT_EQ(got.evals.size() * 2, evals.size()) << label << ": evaluations";
  const std::vector<std::pair<std::string, std::string>> keys = {
      {"R1", "R1"}, {"R5", "R5"}, {"R10", "R10"}, {"MR", "MR"}, {"MedianR", "MR"}, {"MeanR", "MeanR"}};
  for (size_t e = 0; e < std::min(got.evals.size(), evals.size() / 2); ++e) {
    for (int dir = 0; dir < 2; ++dir) {
      const json& ref = evals.at(2 * e + dir);
      const json& ours = got.evals[e].at(dir == 0 ? "t2v" : "v2t");
      for (const auto& [ref_key, cma_key] : keys) {
        EXPECT_EQ(ours.at(cma_key).get<double>(), ref.at(ref_key).get<double>())
            << label << " evaluation " << e + 1 << (dir == 0 ? " text-to-video " : " video-to-text ") << ref_key
            << " (cma's " << cma_key << ")";
      }
    }
  }
  std::cout << "[whole_run] " << label << ": " << got.losses.size() << " steps, max |loss - reference| = " << worst
            << ", " << got.evals.size() << " evaluation(s)\n";
  return worst;
}

// The run reads JPEG frame folders, which OpenCV or TurboJPEG decodes (the GPU build has only TurboJPEG).
#if CMA_WITH_OPENCV || CMA_WITH_TURBOJPEG
TEST(WholeRun, OneRankMatchesTheReferenceRun) {
  WholeRun run;
  std::string why;
  if (!find_whole_run(&run, &why)) GTEST_SKIP() << why;
  const TempDir tmp("whole_run1");
  const std::string out = tmp / "run";
  const auto r = run_cli(train_args(run, out));
  ASSERT_EQ(r.exit_code, 0) << r.output;
  expect_matches("one rank", read_metrics(out), run.expected);
}

// The same run with a bf16 backbone: its losses follow the reference's fp32 ones within
// kBf16LossTolerance (evaluations are not compared: bf16 moves near-equal similarities).
TEST(WholeRun, OneRankBf16LossesFollowTheReference) {
  WholeRun run;
  std::string why;
  if (!find_whole_run(&run, &why)) GTEST_SKIP() << why;
  const TempDir tmp("whole_run_bf16");
  const std::string out = tmp / "run";
  const auto r = run_cli(train_args(run, out) + " --precision bf16");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  const double worst = expect_losses("bf16", read_metrics(out), run.expected, kBf16LossTolerance, true);
  std::cout << "[whole_run] bf16: max |loss - reference| / reference = " << worst << "\n";
}

TEST(WholeRun, TwoRanksMatchTheReferenceRun) {
  WholeRun run;
  std::string why;
  if (!find_whole_run(&run, &why)) GTEST_SKIP() << why;
  if (std::system("command -v mpirun > /dev/null 2>&1") != 0) GTEST_SKIP() << "mpirun is not installed (openmpi-bin)";
  const TempDir tmp("whole_run2");
  const std::string out = tmp / "run";
  const std::string log = tmp / "mpirun.log";
  const std::string cmd = "mpirun --allow-run-as-root --oversubscribe -np 2 " + std::string(CMA_BINARY) +
                          train_args(run, out) + " --master_port " + std::to_string(free_port()) + " > " + log +
                          " 2>&1";
  const int status = std::system(cmd.c_str());
  ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << slurp(log);
  ASSERT_NE(slurp(log).find("rank 0 of 2"), std::string::npos) << slurp(log);
  expect_matches("two ranks", read_metrics(out), run.expected.at("two_ranks"));
}
#else
TEST(WholeRun, NeedsAJpegDecoder) {
  GTEST_SKIP() << "built without OpenCV and without TurboJPEG: nothing decodes the whole run's JPEG frame folders";
}
#endif

}  // namespace
}  // namespace cma::testing
