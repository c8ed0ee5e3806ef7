#include "cma/eval/metrics.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <iomanip>
#include <iostream>
#include <limits>

#include "cma/core/error.h"
#include "cma/core/safetensors.h"
#include "test_paths.h"

namespace {

using cma::eval::RetrievalMetrics;
using cma::eval::TwoWay;

constexpr double kTol = 1e-6;  // absolute, on percentages and ranks
const float kNaN = std::numeric_limits<float>::quiet_NaN();
const float kInf = std::numeric_limits<float>::infinity();

template <typename T>
std::vector<T> copy_tensor(const cma::st::TensorView& t, cma::st::DType want) {
  if (t.dtype != want) {
    throw cma::Error(t.name + " is " + cma::st::dtype_name(t.dtype) + ", expected " +
                     cma::st::dtype_name(want));
  }
  std::vector<T> out(static_cast<size_t>(t.numel()));
  std::memcpy(out.data(), t.data, t.nbytes);
  return out;
}

// A case is `<name>.sim` [rows x cols]; with `<name>.captions_per_video` it is a multi-caption set.
TwoWay evaluate_case(const cma::st::File& f, const std::string& name) {
  const auto& sim_view = f.get(name + ".sim");
  if (sim_view.shape.size() != 2) throw cma::Error(name + ".sim must be 2-D");
  const auto sim = copy_tensor<float>(sim_view, cma::st::DType::F32);
  const int64_t rows = sim_view.shape[0], cols = sim_view.shape[1];
  if (f.has(name + ".captions_per_video")) {
    const auto counts = copy_tensor<int64_t>(f.get(name + ".captions_per_video"), cma::st::DType::I64);
    return cma::eval::multi_caption_two_way(sim.data(), rows, counts);
  }
  if (rows != cols) throw cma::Error(name + ".sim is not square and has no captions_per_video");
  return cma::eval::square_two_way(sim.data(), rows);
}

// Compares every metric of every case in `path`; returns the largest absolute deviation.
double check_cases_file(const std::string& path) {
  cma::st::File f(path);
  const std::string text = f.meta("expected");
  if (text.empty()) {
    ADD_FAILURE() << path << " has no `expected` metadata";
    return 0;
  }
  const auto expected = nlohmann::json::parse(text);
  EXPECT_FALSE(expected.empty()) << path << ": `expected` lists no case";
  double worst = 0;
  for (const auto& [name, want] : expected.items()) {
    const nlohmann::json got = cma::eval::to_json(evaluate_case(f, name));
    for (const char* dir : {"t2v", "v2t"}) {
      for (const char* key : {"R1", "R5", "R10", "MR", "MeanR"}) {
        if (!want.contains(dir) || !want[dir].contains(key)) {
          ADD_FAILURE() << path << " case " << name << " " << dir << " lacks " << key;
          continue;
        }
        const double e = want[dir][key].get<double>(), g = got[dir][key].get<double>();
        worst = std::max(worst, std::abs(e - g));
        EXPECT_LE(std::abs(e - g), kTol) << "case " << name << " direction " << dir << " metric "
                                         << key << ": expected " << std::setprecision(17) << e
                                         << ", got " << g << " (" << path << ")";
      }
    }
  }
  return worst;
}

void expect_metrics(const RetrievalMetrics& got, const RetrievalMetrics& want, const char* what) {
  EXPECT_NEAR(got.r1, want.r1, 1e-12) << what << " R1";
  EXPECT_NEAR(got.r5, want.r5, 1e-12) << what << " R5";
  EXPECT_NEAR(got.r10, want.r10, 1e-12) << what << " R10";
  EXPECT_NEAR(got.median_rank, want.median_rank, 1e-12) << what << " MR";
  EXPECT_NEAR(got.mean_rank, want.mean_rank, 1e-12) << what << " MeanR";
}

TEST(MetricsFixture, SharedCasesMatchReference) {
  const std::string path = cma::testing::fixture("metrics/metrics_cases.safetensors");
  ASSERT_FALSE(path.empty()) << "metrics/metrics_cases.safetensors not found in tests/data or "
                             << cma::testing::shared_dir();
  const double worst = check_cases_file(path);
  std::cout << "[metrics] " << path << ": max deviation " << worst << "\n";
}

TEST(MetricsFixture, ExtraCasesFromEnvironment) {
  const auto paths = cma::testing::env_paths("CMA_METRICS_CASES");
  if (paths.empty()) {
    GTEST_SKIP() << "CMA_METRICS_CASES is unset: set it to colon-separated safetensors files "
                    "(<case>.sim, optional <case>.captions_per_video, metadata `expected`) to check more cases";
  }
  for (const auto& p : paths) {
    const double worst = check_cases_file(p);
    std::cout << "[metrics] " << p << ": max deviation " << worst << "\n";
  }
}

TEST(MetricsRanks, EvenCountMedianIsMeanOfMiddleValues) {
  const auto m = cma::eval::metrics_from_ranks({5, 0, 2, 1});
  expect_metrics(m, {25, 75, 100, 2.5, 3.0}, "ranks {5,0,2,1}");
  const auto odd = cma::eval::metrics_from_ranks({12, 0, 3});
  expect_metrics(odd, {100.0 / 3, 200.0 / 3, 200.0 / 3, 4, 6}, "ranks {12,0,3}");
  EXPECT_THROW(cma::eval::metrics_from_ranks({}), cma::Error);
}

// compute_metrics keeps one rank per entry tied with the correct score.
TEST(MetricsTies, SquareTiesGiveOneRankPerTiedEntry) {
  const std::vector<float> sim = {1, 1, 0,
                                  2, 1, 1,
                                  0, 0, 5};
  const auto two = cma::eval::square_two_way(sim.data(), 3);
  // t2v ranks {0,1} {1,2} {0}; v2t ranks {1} {0,1} {0}.
  expect_metrics(two.t2v, {40, 100, 100, 2, 1.8}, "t2v");
  expect_metrics(two.v2t, {50, 100, 100, 1.5, 1.5}, "v2t");
}

TEST(MetricsTies, SquareNonFiniteEntries) {
  // Row 0's correct score is NaN (no rank); NaN elsewhere never outranks; +inf does.
  const std::vector<float> sim = {kNaN, 0, 0,
                                  kNaN, 1, 2,
                                  kInf, 0, 3};
  expect_metrics(cma::eval::square_metrics(sim.data(), 3, 3), {0, 100, 100, 2, 2}, "t2v");
}

TEST(MetricsShape, SquareMetricsNeedsRowsNotAboveCols) {
  const std::vector<float> sim = {3, 1, 0,
                                  1, 2, 5};
  // Row 0 rank 0, row 1 rank 1.
  expect_metrics(cma::eval::square_metrics(sim.data(), 2, 3), {50, 100, 100, 1.5, 1.5}, "2x3");
  EXPECT_THROW(cma::eval::square_metrics(sim.data(), 3, 2), cma::Error);
}

// tensor_text_to_video_metrics: ties in column order, lower median, float32 recall.
TEST(MetricsMulti, TiesColumnOrderAndFloat32Recall) {
  const std::vector<float> sim = {1, 1,   // video 0, caption 0: tie after the correct column, rank 0
                                  0, 2,   // video 0, caption 1: rank 1
                                  3, 3};  // video 1: tie before the correct column, rank 1
  const auto two = cma::eval::multi_caption_two_way(sim.data(), 3, {2, 1});
  const double third = static_cast<double>(100.0f / 3.0f);  // 33.33333206..., as torch prints it
  expect_metrics(two.t2v, {third, 100, 100, 2, 5.0 / 3}, "t2v");
  // v2t: best[v0] = {1, 2}, best[v1] = {3, 3}; video 0 ranks 1, video 1 ranks 0.
  expect_metrics(two.v2t, {50, 100, 100, 1.5, 1.5}, "v2t");
}

TEST(MetricsMulti, EvenCountTextToVideoMedianIsLowerMiddle) {
  const std::vector<float> sim = {1, 0,
                                  1, 0};
  const auto two = cma::eval::multi_caption_two_way(sim.data(), 2, {1, 1});
  expect_metrics(two.t2v, {50, 100, 100, 1, 1.5}, "t2v (torch.median)");
  expect_metrics(two.v2t, {50, 100, 100, 1.5, 1.5}, "v2t (np.median)");
}

TEST(MetricsMulti, NonFiniteScoresFollowPaddedReference) {
  const std::vector<float> sim = {kNaN, 5,   // video 0's caption: NaN correct score, masked out
                                  kNaN, 1,   // video 1: NaN ranks first, so rank 1
                                  0, 2};     // video 1: rank 0
  const auto two = cma::eval::multi_caption_two_way(sim.data(), 3, {1, 2});
  expect_metrics(two.t2v, {50, 100, 100, 1, 1.5}, "t2v");
  // v2t: NaN read as -inf, so video 0's own score is -inf and it drops out; video 1 ranks 1.
  expect_metrics(two.v2t, {0, 100, 100, 2, 2}, "v2t");
}

TEST(MetricsMulti, RejectsCountsThatDoNotSumToRows) {
  const std::vector<float> sim(6, 0.0f);
  EXPECT_THROW(cma::eval::multi_caption_two_way(sim.data(), 3, {1, 1}), cma::Error);
  EXPECT_THROW(cma::eval::multi_caption_two_way(sim.data(), 3, {4, -1}), cma::Error);
}

TEST(MetricsMulti, OneCaptionPerVideoEqualsSquareRanks) {
  const std::vector<float> sim = {0.9f, 0.1f, 0.3f,
                                  0.2f, 0.4f, 0.8f,
                                  0.7f, 0.6f, 0.5f};
  const auto multi = cma::eval::multi_caption_two_way(sim.data(), 3, {1, 1, 1});
  const auto square = cma::eval::square_two_way(sim.data(), 3);
  expect_metrics(multi.v2t, square.v2t, "v2t");
  EXPECT_DOUBLE_EQ(multi.t2v.mean_rank, square.t2v.mean_rank);
  EXPECT_EQ(multi.t2v.median_rank, square.t2v.median_rank);
}

TEST(MetricsDualSoftmax, WeightsEachColumnBySoftmaxOverRows) {
  const std::vector<float> sim = {1, 0.5f,
                                  0, 2};
  const double t = 0.5;
  const auto out = cma::eval::dual_softmax(sim.data(), 2, 2, t);
  for (int j = 0; j < 2; ++j) {
    const double a = std::exp(sim[0 * 2 + j] / t), b = std::exp(sim[1 * 2 + j] / t);
    EXPECT_NEAR(out[0 * 2 + j], sim[0 * 2 + j] * a / (a + b), 1e-6) << "column " << j;
    EXPECT_NEAR(out[1 * 2 + j], sim[1 * 2 + j] * b / (a + b), 1e-6) << "column " << j;
  }
  // Large logits must not overflow: the column maximum is subtracted first.
  const std::vector<float> big = {100, 90,
                                  99, 100};
  const auto o = cma::eval::dual_softmax(big.data(), 2, 2, 0.01);
  EXPECT_NEAR(o[0], 100.0f, 1e-4);
  EXPECT_NEAR(o[2], 0.0f, 1e-4);
  EXPECT_TRUE(std::isfinite(o[1]) && std::isfinite(o[3]));
  const std::vector<float> bad = {1, kInf, 0, 1};
  EXPECT_THROW(cma::eval::dual_softmax(bad.data(), 2, 2, 1.0), cma::Error);
  EXPECT_THROW(cma::eval::dual_softmax(sim.data(), 2, 2, 0.0), cma::Error);
}

TEST(MetricsJson, UsesReferenceKeys) {
  const TwoWay two{{1, 2, 3, 4, 5}, {6, 7, 8, 9, 10}};
  const auto j = cma::eval::to_json(two);
  EXPECT_EQ(j["t2v"]["R1"].get<double>(), 1);
  EXPECT_EQ(j["t2v"]["MeanR"].get<double>(), 5);
  EXPECT_EQ(j["v2t"]["R10"].get<double>(), 8);
  EXPECT_EQ(j["v2t"]["MR"].get<double>(), 9);
  EXPECT_EQ(j["t2v"].size(), 5u);
}

}  // namespace
