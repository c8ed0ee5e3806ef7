#include "cma/eval/metrics.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <string>

#include "cma/core/error.h"

namespace cma::eval {
namespace {

// compute_metrics's ranks for one row: the row is negated and sorted ascending (NaN last), and
// every position whose value minus the negated correct score is exactly zero counts. So ties give
// one rank per tied entry, and a non-finite correct score gives none (inf - inf is NaN).
// `at(j)` reads entry j of the row; `n` is the row length.
template <typename At>
void append_numpy_ranks(At at, int64_t n, float correct, std::vector<double>& ranks) {
  if (!std::isfinite(correct)) return;
  int64_t greater = 0, equal = 0;
  for (int64_t j = 0; j < n; ++j) {
    const float x = at(j);
    if (x > correct) ++greater;  // +inf included, NaN never
    else if (x == correct) ++equal;
  }
  for (int64_t k = 0; k < equal; ++k) ranks.push_back(static_cast<double>(greater + k));
}

// tensor_text_to_video_metrics's rank: the position of column `c` after torch.argsort(descending),
// whose comparator puts NaN first. Ties follow column order, which is what the CPU kernel's
// insertion sort gives on short rows; torch does not promise an order for ties.
int64_t torch_desc_rank(const float* row, int64_t n, int64_t c) {
  const float correct = row[c];
  int64_t rank = 0;
  for (int64_t j = 0; j < n; ++j) {
    const float x = row[j];
    if (std::isnan(x) || x > correct || (j < c && x == correct)) ++rank;
  }
  return rank;
}

// Statistics as tensor_text_to_video_metrics computes them over 0-based ranks.
RetrievalMetrics torch_metrics_from_ranks(const std::vector<int64_t>& ranks0) {
  require(!ranks0.empty(), "text-to-video metrics: every caption's correct score is inf or NaN, "
                           "so no rank is left to average; check the similarity matrix");
  const int64_t n = static_cast<int64_t>(ranks0.size());
  // torch.sum(ranks < k) * 100 / n: int64 tensors divided in the default dtype, float32.
  auto recall = [&](int64_t k) {
    const int64_t hits = std::count_if(ranks0.begin(), ranks0.end(), [k](int64_t r) { return r < k; });
    return static_cast<double>(static_cast<float>(hits * 100) / static_cast<float>(n));
  };
  std::vector<int64_t> sorted = ranks0;
  std::sort(sorted.begin(), sorted.end());
  double sum = 0;  // np.mean(ranks + 1): exact integer sum in float64, then one division
  for (int64_t r : ranks0) sum += static_cast<double>(r + 1);
  RetrievalMetrics m;
  m.r1 = recall(1);
  m.r5 = recall(5);
  m.r10 = recall(10);
  m.median_rank = static_cast<double>(sorted[(n - 1) / 2] + 1);  // torch.median: lower middle
  m.mean_rank = sum / static_cast<double>(n);
  return m;
}

void require_dims(int64_t rows, int64_t cols, const char* what) {
  require(rows > 0 && cols > 0, std::string(what) + ": the similarity matrix is " +
                                    std::to_string(rows) + " x " + std::to_string(cols) +
                                    "; both sizes must be positive");
}

}  // namespace

RetrievalMetrics metrics_from_ranks(const std::vector<double>& ranks0) {
  require(!ranks0.empty(), "retrieval metrics: no rank to average (every correct score is inf or "
                           "NaN, or the matrix is empty); check the similarity matrix");
  const double n = static_cast<double>(ranks0.size());
  auto recall = [&](double k) {
    const auto hits = std::count_if(ranks0.begin(), ranks0.end(), [k](double r) { return r < k; });
    return static_cast<double>(hits) * 100.0 / n;
  };
  std::vector<double> sorted = ranks0;
  std::sort(sorted.begin(), sorted.end());
  const size_t mid = sorted.size() / 2;
  const double median =
      sorted.size() % 2 == 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2.0;
  double sum = 0;
  for (double r : ranks0) sum += r;
  RetrievalMetrics m;
  m.r1 = recall(1);
  m.r5 = recall(5);
  m.r10 = recall(10);
  m.median_rank = median + 1;
  m.mean_rank = sum / n + 1;  // np.mean(ind) + 1, not np.mean(ind + 1)
  return m;
}

RetrievalMetrics square_metrics(const float* sim, int64_t rows, int64_t cols) {
  require_dims(rows, cols, "square_metrics");
  // np.diag takes min(rows, cols) entries and broadcasts them over the rows, so the reference
  // only accepts rows <= cols.
  require(rows <= cols, "square_metrics: " + std::to_string(rows) + " queries but only " +
                            std::to_string(cols) + " candidates; query i's answer is column i, "
                            "so rows must not exceed cols");
  std::vector<double> ranks;
  ranks.reserve(static_cast<size_t>(rows));
  for (int64_t i = 0; i < rows; ++i) {
    const float* row = sim + i * cols;
    append_numpy_ranks([row](int64_t j) { return row[j]; }, cols, row[i], ranks);
  }
  return metrics_from_ranks(ranks);
}

TwoWay square_two_way(const float* sim, int64_t n) {
  require_dims(n, n, "square_two_way");
  std::vector<double> v2t;
  v2t.reserve(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) {  // row i of the transpose is column i of sim
    append_numpy_ranks([sim, n, i](int64_t j) { return sim[j * n + i]; }, n, sim[i * n + i], v2t);
  }
  return {square_metrics(sim, n, n), metrics_from_ranks(v2t)};
}

TwoWay multi_caption_two_way(const float* sim, int64_t num_captions,
                             const std::vector<int64_t>& captions_per_video) {
  const int64_t videos = static_cast<int64_t>(captions_per_video.size());
  require_dims(num_captions, videos, "multi_caption_two_way");
  int64_t total = 0;
  for (int64_t v = 0; v < videos; ++v) {
    require(captions_per_video[v] >= 0, "multi_caption_two_way: video " + std::to_string(v) +
                                            " has " + std::to_string(captions_per_video[v]) +
                                            " captions; counts must not be negative");
    total += captions_per_video[v];
  }
  require(total == num_captions, "multi_caption_two_way: captions_per_video sums to " +
                                     std::to_string(total) + " but the matrix has " +
                                     std::to_string(num_captions) + " caption rows");

  // t2v: each real caption row of the padded tensor; padding rows are all -inf and masked out,
  // as is any caption whose correct score is inf or NaN.
  std::vector<int64_t> t2v;
  t2v.reserve(static_cast<size_t>(num_captions));
  // v2t: best[v][j] = max over video v's captions of sim[caption][j], NaN read as -inf; a video
  // with no captions keeps -inf (its padding), as the reference's all-padding block would.
  const float neg_inf = -std::numeric_limits<float>::infinity();
  std::vector<float> best(static_cast<size_t>(videos * videos), neg_inf);
  int64_t caption = 0;
  for (int64_t v = 0; v < videos; ++v) {
    for (int64_t k = 0; k < captions_per_video[v]; ++k, ++caption) {
      const float* row = sim + caption * videos;
      if (std::isfinite(row[v])) t2v.push_back(torch_desc_rank(row, videos, v));
      float* b = best.data() + v * videos;
      for (int64_t j = 0; j < videos; ++j) {
        if (!std::isnan(row[j])) b[j] = std::max(b[j], row[j]);
      }
    }
  }
  // compute_metrics on best transposed: video j's row lists best[v][j] over caption groups v.
  std::vector<double> v2t;
  v2t.reserve(static_cast<size_t>(videos));
  for (int64_t j = 0; j < videos; ++j) {
    append_numpy_ranks([&best, videos, j](int64_t v) { return best[v * videos + j]; }, videos,
                       best[j * videos + j], v2t);
  }
  return {torch_metrics_from_ranks(t2v), metrics_from_ranks(v2t)};
}

std::vector<float> dual_softmax(const float* sim, int64_t rows, int64_t cols, double temperature) {
  require_dims(rows, cols, "dual_softmax");
  require(temperature > 0 && std::isfinite(temperature),
          "dual_softmax: temperature " + std::to_string(temperature) + " must be positive");
  std::vector<float> out(static_cast<size_t>(rows * cols));
  std::vector<double> e(static_cast<size_t>(rows));
  for (int64_t j = 0; j < cols; ++j) {
    double top = -std::numeric_limits<double>::infinity();
    for (int64_t i = 0; i < rows; ++i) {
      const float x = sim[i * cols + j];
      require(std::isfinite(x), "dual_softmax: entry (" + std::to_string(i) + ", " +
                                    std::to_string(j) + ") is " + std::to_string(x) +
                                    "; apply it to the unpadded captions x videos matrix");
      top = std::max(top, static_cast<double>(x) / temperature);
    }
    double total = 0;
    for (int64_t i = 0; i < rows; ++i) {
      e[i] = std::exp(static_cast<double>(sim[i * cols + j]) / temperature - top);
      total += e[i];
    }
    for (int64_t i = 0; i < rows; ++i) {
      out[i * cols + j] = static_cast<float>(static_cast<double>(sim[i * cols + j]) * e[i] / total);
    }
  }
  return out;
}

nlohmann::json to_json(const RetrievalMetrics& m) {
  return {{"R1", m.r1}, {"R5", m.r5}, {"R10", m.r10}, {"MR", m.median_rank}, {"MeanR", m.mean_rank}};
}

nlohmann::json to_json(const TwoWay& m) { return {{"t2v", to_json(m.t2v)}, {"v2t", to_json(m.v2t)}}; }

}  // namespace cma::eval
