// Retrieval metrics (R@1/5/10, median and mean rank) computed from a similarity matrix, exactly as
// the reference's metrics.py does it, without LibTorch.
//
// Legend: N captions (text queries), V videos. A similarity matrix is row-major [rows x cols];
// text-to-video (t2v) ranks the videos for each caption, video-to-text (v2t) the captions for
// each video. Ranks are 0-based inside, reported 1-based (MdR, MnR); R@K is a percentage.
//
// Two reference routines with different arithmetic, both reproduced:
//  * compute_metrics (square sets, and v2t of multi-caption sets): a row whose correct score ties
//    with k-1 other entries contributes k ranks (g, g+1, ..., g+k-1, g = entries strictly
//    greater), rows whose correct score is +-inf or NaN contribute none, NaN entries elsewhere rank
//    below everything; R@K and MnR in float64, MdR = numpy median (mean of the two middle values).
//  * tensor_text_to_video_metrics (t2v of multi-caption sets): one rank per caption, its position
//    in the row sorted descending with NaN first and ties in column order; captions whose correct
//    score is +-inf or NaN are dropped; R@K rounded to float32 (torch's int/int division), MdR =
//    torch median (the lower middle value), MnR = mean(rank+1) in float64.
#pragma once
#include <cstdint>
#include <vector>

#include <nlohmann/json.hpp>

namespace cma::eval {

struct RetrievalMetrics {
  double r1 = 0, r5 = 0, r10 = 0;  // % of queries whose 0-based rank is below 1, 5, 10
  double median_rank = 0;          // 1-based
  double mean_rank = 0;            // 1-based
};

struct TwoWay {
  RetrievalMetrics t2v, v2t;
};

// compute_metrics's statistics over 0-based ranks: R@K = 100*count/n, MdR = median+1 (mean of the
// two middle values for an even count), MnR = mean+1. Throws when `ranks0` is empty.
RetrievalMetrics metrics_from_ranks(const std::vector<double>& ranks0);

// compute_metrics on sim [rows x cols], rows <= cols; row i's correct column is i.
RetrievalMetrics square_metrics(const float* sim, int64_t rows, int64_t cols);

// Square set sim [n x n] (captions x videos): t2v on sim, v2t on its transpose.
TwoWay square_two_way(const float* sim, int64_t n);

// Multi-caption set: sim [num_captions x V], captions grouped by video in video order, video v
// owning captions_per_video[v] consecutive rows. Reproduces the reference's padded tensor
// [V x max_captions x V] (padding rows -inf): t2v by tensor_text_to_video_metrics; v2t by
// compute_metrics on M[j][v] = max over video v's captions of sim[caption][j] (NaN read as -inf).
TwoWay multi_caption_two_way(const float* sim, int64_t num_captions,
                             const std::vector<int64_t>& captions_per_video);

// Dual-softmax (DSL) re-weighting, as CAMoE (arXiv:2109.04290) and the CLIP2Video-era code bases
// apply it at inference: out[i][j] = sim[i][j] * softmax over i of (sim[:, j] / temperature),
// i.e. each video's column is turned into a prior over the captions. The reference trainer itself
// never applies it (train.py's eval_epoch ranks the raw matrix); it is an opt-in post-process.
// Those code bases pass cosine similarities and multiply by 100 (temperature 0.01). This project's
// matrix is already scaled by exp(logit_scale) (<= 100), so temperature 1 reproduces them.
// Computed in float64 per column with the maximum subtracted; all entries must be finite.
std::vector<float> dual_softmax(const float* sim, int64_t rows, int64_t cols, double temperature);

// {"t2v": {"R1","R5","R10","MR","MeanR"}, "v2t": {...}}: the keys of the reference's log and of
// the shared metrics fixture.
nlohmann::json to_json(const RetrievalMetrics& m);
nlohmann::json to_json(const TwoWay& m);

}  // namespace cma::eval
