// `cma bench step`: every variant asked for is timed and named, the reference's benchmark runs in
// the same invocation and its median is what the ratios divide by; bad lists and a failing
// reference are refused with their reason. The "reference" here is a stand-in shell script that
// prints what the reference's script prints, so the test needs no Python.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include <fstream>
#include <regex>
#include <string>

#include "cli_util.h"
#include "cma/model/cpu_gemm.h"

namespace cma::testing {
namespace {

const std::string kTiny = " bench step --weights random:tiny --batch 2 --frames 2 --words 8 --steps 1 --threads 1";

// A stand-in for the reference's step benchmark: checks it got BATCH FRAMES STEPS THREADS, prints
// the reference's line with a median of 2.5 s, and exits with `code`.
std::string fake_reference(const TempDir& tmp, int code) {
  const std::string path = tmp / ("ref_" + std::to_string(code) + ".sh");
  std::ofstream(path) << "[ \"$1 $2 $3 $4\" = \"2 2 1 1\" ] || { echo \"unexpected arguments: $*\"; exit 9; }\n"
                      << "echo 'reference step: batch 2 x 2 frames, threads 1: median 2.500 s/step, 1.6 frames/s'\n"
                      << "exit " << code << "\n";
  return path;
}

double step_seconds(const std::string& output, const std::string& label) {
  std::smatch m;
  const std::regex re(label + " +forward .* step +([0-9.]+) s");
  if (!std::regex_search(output, m, re)) return -1;
  return std::stod(m[1]);
}

TEST(Bench, StepTimesEachVariantAndTheReferenceInOneRun) {
  const TempDir tmp("bench_step");
  // Both libraries where cma uses oneDNN; OpenBLAS alone where its check refuses oneDNN (model/cpu_gemm.h).
  const bool onednn = model::onednn_check().ok;
  const std::string first = onednn ? "oneDNN" : "OpenBLAS";
  const auto r = run_cli(kTiny + " --precision fp32,bf16 --cpu_gemm " + (onednn ? "onednn,openblas" : "openblas") +
                         " --unpruned --python sh --reference " + fake_reference(tmp, 0));
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("cpu: "), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("bf16 products: "), std::string::npos) << r.output;
  for (const std::string& label : {"cma fp32 " + first, std::string("cma fp32 OpenBLAS"), std::string("cma fp32 unpruned"),
                                  "cma bf16 " + first}) {
    EXPECT_GT(step_seconds(r.output, label), 0) << label << " was not timed:\n" << r.output;
  }
  if (onednn) {
    EXPECT_NE(r.output.find("ratio cma fp32 oneDNN / cma fp32 OpenBLAS (same run): "), std::string::npos) << r.output;
  }
  // Each ratio to the reference is the variant's step over the stand-in's 2.5 s.
  for (const std::string& label : {"cma fp32 " + first, "cma bf16 " + first}) {
    std::smatch m;
    const std::string out = r.output;
    ASSERT_TRUE(std::regex_search(out, m, std::regex("ratio " + label + " / reference fp32 \\(same run\\): ([0-9.]+)")))
        << r.output;
    EXPECT_NEAR(std::stod(m[1]), step_seconds(out, label) / 2.5, 1e-3) << r.output;
  }
}

// A baseline is timed at its best settings: the reference runs at 1 thread and at all threads, and the
// ratios divide by the faster. The stand-in is slower at 2 threads (5 s) than at 1 (2.5 s), as the
// reference is on 2 cores, where its BLAS and OpenMP pools fight.
TEST(Bench, StepDividesByTheReferencesFastestThreadCount) {
  const TempDir tmp("bench_step_threads");
  const std::string ref = tmp / "ref_threads.sh";
  std::ofstream(ref) << "case \"$4\" in 1) s=2.500 ;; 2) s=5.000 ;; *) echo \"unexpected threads $4\"; exit 9 ;; esac\n"
                     << "echo \"reference step: threads $4: median $s s/step\"\n";
  const std::string two = " bench step --weights random:tiny --batch 2 --frames 2 --words 8 --steps 1 --threads 2";
  const auto r = run_cli(two + " --precision fp32 --cpu_gemm openblas --python sh --reference " + ref);
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("step   2.500 s at 1 thread "), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("step   5.000 s at 2 threads "), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("divide by its fastest, 2.500 s at 1 thread"), std::string::npos) << r.output;
  std::smatch m;
  const std::string out = r.output;
  ASSERT_TRUE(std::regex_search(out, m, std::regex("ratio cma fp32 OpenBLAS / reference fp32 \\(same run\\): ([0-9.]+)")))
      << r.output;
  EXPECT_NEAR(std::stod(m[1]), step_seconds(out, "cma fp32 OpenBLAS") / 2.5, 1e-3) << r.output;
}

TEST(Bench, StepWithoutTheReferenceSaysSo) {
  const auto r = run_cli(kTiny + " --precision fp32 --cpu_gemm openblas", "CMA_REF_STEP_BENCH=");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_GT(step_seconds(r.output, "cma fp32 OpenBLAS"), 0) << r.output;
  EXPECT_EQ(r.output.find("cma bf16"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("reference: not run"), std::string::npos) << r.output;
}

TEST(Bench, StepRefusesBadListsAndAFailingReference) {
  const TempDir tmp("bench_step_bad");
  auto r = run_cli(kTiny + " --precision fp16");
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.output.find("--precision: 'fp16' is not fp32 or bf16"), std::string::npos) << r.output;
  r = run_cli(kTiny + " --cpu_gemm mkl");
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.output.find("--cpu_gemm 'mkl'"), std::string::npos) << r.output;
  r = run_cli(kTiny + " --reference " + (tmp / "missing.py"));
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.output.find("missing.py: no such file"), std::string::npos) << r.output;
  EXPECT_EQ(r.output.find("cma fp32"), std::string::npos) << "refused only after timing:\n" << r.output;
  r = run_cli(kTiny + " --precision fp32 --cpu_gemm openblas --python sh --reference " + fake_reference(tmp, 3));
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.output.find("exited with 3"), std::string::npos) << r.output;
  EXPECT_EQ(r.output.find("cma fp32 OpenBLAS "), std::string::npos)
      << "timed before the reference failed:\n" << r.output;
}


// ---- cma bench train, CPU mode ------------------------------------------------------------------

std::string tiny_train_bench(const TempDir& tmp, const std::string& batches = "2") {
  return " bench train --weights random:tiny --batches " + batches + " --frames 2 --words 8 --warmup 0 --steps 1 --videos 3"
         " --workers 1 --threads 1 --data " + (tmp / "tree");
}

// A stand-in for the reference's harness: checks its arguments, prints its line for each mode.
std::string fake_train_reference(const TempDir& tmp) {
  const std::string path = tmp / "ref_train.sh";
  std::ofstream(path) << "[ \"$3 $4 $5 $6 $7 $8\" = \"--batch 2 --frames 2 --words 8\" ] || "
                      << "{ echo \"unexpected arguments: $*\"; exit 9; }\n"
                      << "echo \"reference $2: clips/s 0.5 step_s 4.0 peak_bytes 1048576\"\n";
  return path;
}

TEST(Bench, TrainReportsEveryInputPathWithRatiosAndJson) {
  const TempDir tmp("bench_train");
  const std::string json = tmp / "bench.json";
  const auto r = run_cli(tiny_train_bench(tmp) + " --recompute --python sh --reference " + fake_train_reference(tmp) +
                         " --json " + json);
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("cpu: "), std::string::npos) << r.output;
  for (const char* mode : {"model", "cache", "jpeg"}) {
    const std::regex line(std::string("cma +") + mode + " +batch +2: +[0-9.]+ clips/s +step +[0-9.]+ s +MFU +[0-9.]+%");
    EXPECT_TRUE(std::regex_search(r.output, line)) << mode << "\n" << r.output;
    EXPECT_NE(r.output.find(std::string("ratio cma / reference, ") + mode + ", batch 2 (same run): clips/s"),
              std::string::npos) << r.output;
  }
  EXPECT_NE(r.output.find("ratio cma jpeg / cma model, batch 2"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("ratio cma model-recompute / cma model, batch 2 (same run): clips/s"), std::string::npos)
      << r.output;
  const auto j = nlohmann::json::parse(slurp(json));
  ASSERT_EQ(j.at("cma").size(), 4u);
  for (const auto& e : j.at("cma")) {
    EXPECT_GT(e.at("clips_per_s").get<double>(), 0) << e;
    EXPECT_GT(e.at("mfu").get<double>(), 0) << e;
    EXPECT_GT(e.at("peak_bytes").get<int64_t>(), 0) << e;
  }
  ASSERT_EQ(j.at("reference").size(), 3u);
  EXPECT_DOUBLE_EQ(j.at("reference")[0].at("clips_per_s").get<double>(), 0.5);
  EXPECT_EQ(j.at("reference")[0].at("peak_bytes").get<int64_t>(), 1048576);
}

TEST(Bench, TrainRefusesBadOptionsBeforeAnyWork) {
  const TempDir tmp("bench_train_bad");
  auto r = run_cli(tiny_train_bench(tmp) + " --modes model,disk");
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.output.find("--modes: 'disk' is not model, cache or jpeg"), std::string::npos) << r.output;
  r = run_cli(tiny_train_bench(tmp, "2,x"));
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.output.find("--batches: 'x' is not a whole number"), std::string::npos) << r.output;
  r = run_cli(tiny_train_bench(tmp) + " --device tpu");
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.output.find("--device 'tpu'"), std::string::npos) << r.output;
  EXPECT_FALSE(std::filesystem::exists(tmp / "tree")) << "data generated before the refusal";
}

}  // namespace
}  // namespace cma::testing
