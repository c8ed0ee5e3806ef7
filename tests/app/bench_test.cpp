// `cma bench step`: every variant asked for is timed and named, the reference's benchmark runs in
// the same invocation and its median is what the ratios divide by; bad lists and a failing
// reference are refused with their reason. The "reference" here is a stand-in shell script that
// prints what the reference's script prints, so the test needs no Python.
#include <gtest/gtest.h>

#include <fstream>
#include <regex>
#include <string>

#include "cli_util.h"

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
  const auto r = run_cli(kTiny + " --precision fp32,bf16 --cpu_gemm onednn,openblas --unpruned --python sh" +
                         " --reference " + fake_reference(tmp, 0));
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("cpu: "), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("bf16 products: "), std::string::npos) << r.output;
  for (const std::string label : {"cma fp32 oneDNN", "cma fp32 OpenBLAS", "cma fp32 unpruned", "cma bf16 oneDNN"}) {
    EXPECT_GT(step_seconds(r.output, label), 0) << label << " was not timed:\n" << r.output;
  }
  EXPECT_NE(r.output.find("ratio cma fp32 oneDNN / cma fp32 OpenBLAS (same run): "), std::string::npos) << r.output;
  // Each ratio to the reference is the variant's step over the stand-in's 2.5 s.
  for (const std::string label : {"cma fp32 oneDNN", "cma bf16 oneDNN"}) {
    std::smatch m;
    const std::string out = r.output;
    ASSERT_TRUE(std::regex_search(out, m, std::regex("ratio " + label + " / reference fp32 \\(same run\\): ([0-9.]+)")))
        << r.output;
    EXPECT_NEAR(std::stod(m[1]), step_seconds(out, label) / 2.5, 1e-3) << r.output;
  }
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

}  // namespace
}  // namespace cma::testing
