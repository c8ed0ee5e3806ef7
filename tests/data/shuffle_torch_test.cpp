// The reference's training order: torch.randperm with a generator seeded 0 + epoch (PyTorch's
// DistributedSampler at its default seed), padded and split over ranks. Every expected list below
// was printed by PyTorch 1.13 (Debian's python3-torch, which ran the reference):
//   torch.randperm(n, generator=torch.Generator().manual_seed(e)).tolist()
//   list(DistributedSampler(range(n), num_replicas=W, rank=r)) after set_epoch(e)
#include <gtest/gtest.h>

#include <torch/torch.h>

#include "cma/data/options.h"
#include "cma/data/sampler.h"
#include "cma/data/shuffle.h"

namespace {

using cma::data::DistributedSampler;
using cma::data::SamplerOptions;
using cma::data::ShuffleOrder;
using cma::data::shuffled_sampler_options;
using cma::data::torch_permutation;
using Indices = std::vector<int64_t>;

TEST(SamplerReference, PermutationIsTorchRandperm) {
  EXPECT_EQ(torch_permutation(10, 0), (Indices{4, 1, 7, 5, 3, 9, 0, 8, 6, 2}));
  EXPECT_EQ(torch_permutation(10, 1), (Indices{5, 6, 1, 2, 0, 8, 9, 3, 7, 4}));
  EXPECT_EQ(torch_permutation(10, 2), (Indices{8, 7, 1, 5, 6, 9, 0, 4, 2, 3}));
  EXPECT_EQ(torch_permutation(7, 0), (Indices{4, 0, 5, 3, 2, 6, 1}));
  EXPECT_EQ(torch_permutation(7, 1), (Indices{0, 6, 1, 3, 5, 2, 4}));
  EXPECT_EQ(torch_permutation(7, 2), (Indices{2, 4, 3, 0, 6, 1, 5}));
  // The whole-run fixture's 60 training pairs (parity/whole_run), epochs 0 and 1.
  EXPECT_EQ(torch_permutation(60, 0),
            (Indices{44, 49, 19, 3,  47, 2,  31, 43, 25, 48, 11, 53, 9,  35, 34, 26, 32, 54, 50, 20,
                     15, 23, 6,  1,  16, 36, 33, 59, 41, 22, 29, 24, 7,  12, 27, 45, 58, 18, 39, 30,
                     8,  52, 40, 4,  38, 0,  51, 57, 37, 14, 5,  10, 46, 42, 21, 55, 17, 28, 13, 56}));
  EXPECT_EQ(torch_permutation(60, 1),
            (Indices{25, 1,  14, 11, 35, 28, 4,  56, 59, 48, 58, 8,  40, 13, 3,  15, 38, 22, 50, 21,
                     18, 19, 10, 29, 39, 51, 34, 44, 57, 32, 16, 43, 55, 5,  37, 17, 2,  47, 7,  20,
                     45, 23, 26, 33, 36, 12, 24, 6,  53, 27, 54, 46, 52, 42, 31, 9,  49, 30, 0,  41}));
  EXPECT_EQ(torch_permutation(1, 3), (Indices{0}));
  EXPECT_TRUE(torch_permutation(0, 0).empty());
}

TEST(SamplerReference, LeavesTheGlobalGeneratorAlone) {
  torch::manual_seed(5);
  const auto want = torch::rand({4});
  torch::manual_seed(5);
  torch_permutation(100, 0);
  EXPECT_TRUE(torch::equal(torch::rand({4}), want));
}

// rank_indices(epoch) of every rank, with the reference's shuffle and --seed 42.
std::vector<Indices> ranks(int64_t n, int world, int64_t epoch, int batch_per_rank = 1) {
  std::vector<Indices> out;
  for (int r = 0; r < world; ++r) {
    SamplerOptions o = shuffled_sampler_options(ShuffleOrder::Reference, /*run_seed=*/42);
    o.rank = r;
    o.world_size = world;
    o.batch_per_rank = batch_per_rank;
    out.push_back(DistributedSampler(n, o).rank_indices(epoch));
  }
  return out;
}

TEST(SamplerReference, SeedIsDistributedSamplersDefaultNotTheRunSeed) {
  const auto o = shuffled_sampler_options(ShuffleOrder::Reference, 42);
  EXPECT_EQ(o.seed, 0u);
  EXPECT_EQ(o.seed, cma::data::kReferenceSamplerSeed);
  EXPECT_TRUE(o.shuffle);
  EXPECT_EQ(ranks(10, 1, 0), (std::vector<Indices>{{4, 1, 7, 5, 3, 9, 0, 8, 6, 2}}));
  EXPECT_EQ(ranks(10, 1, 1), (std::vector<Indices>{{5, 6, 1, 2, 0, 8, 9, 3, 7, 4}}));
}

TEST(SamplerReference, RanksSplitAndPadAsDistributedSampler) {
  // Two ranks: every second index, no padding for 10, one repeated head index for 7.
  EXPECT_EQ(ranks(10, 2, 0), (std::vector<Indices>{{4, 7, 3, 0, 6}, {1, 5, 9, 8, 2}}));
  EXPECT_EQ(ranks(10, 2, 1), (std::vector<Indices>{{5, 1, 0, 9, 7}, {6, 2, 8, 3, 4}}));
  EXPECT_EQ(ranks(7, 2, 0), (std::vector<Indices>{{4, 5, 2, 1}, {0, 3, 6, 4}}));
  EXPECT_EQ(ranks(7, 2, 1), (std::vector<Indices>{{0, 1, 5, 4}, {6, 3, 2, 0}}));
  // Three ranks: 10 padded to 12 and 7 to 9 with the permutation's first entries.
  EXPECT_EQ(ranks(10, 3, 0), (std::vector<Indices>{{4, 5, 0, 2}, {1, 3, 8, 4}, {7, 9, 6, 1}}));
  EXPECT_EQ(ranks(10, 3, 1), (std::vector<Indices>{{5, 2, 9, 4}, {6, 0, 3, 5}, {1, 8, 7, 6}}));
  EXPECT_EQ(ranks(7, 3, 0), (std::vector<Indices>{{4, 3, 1}, {0, 2, 4}, {5, 6, 0}}));
  EXPECT_EQ(ranks(7, 3, 1), (std::vector<Indices>{{0, 3, 4}, {6, 5, 0}, {1, 2, 6}}));
  // Fewer pairs than ranks: the padding cycles through the permutation.
  EXPECT_EQ(ranks(2, 3, 0), (std::vector<Indices>{{0}, {1}, {0}}));
  EXPECT_EQ(ranks(2, 3, 1), (std::vector<Indices>{{1}, {0}, {1}}));
}

TEST(SamplerReference, BatchesInOrderDroppingTheIncompleteLast) {
  // The reference's training DataLoader: batches of batch_size / world_size, drop_last=True.
  SamplerOptions o = shuffled_sampler_options(ShuffleOrder::Reference, 42);
  o.rank = 1;
  o.world_size = 3;
  o.batch_per_rank = 3;
  const DistributedSampler s(10, o);  // 4 per rank: one batch of 3, the 4th index dropped
  EXPECT_EQ(s.batches_per_epoch(), 1);
  EXPECT_EQ(s.batch(0, 0), (Indices{1, 3, 8}));
  EXPECT_EQ(s.batch(1, 0), (Indices{6, 0, 3}));
  // The whole-run fixture: 60 pairs, global batch 6 on one rank and on two.
  o = shuffled_sampler_options(ShuffleOrder::Reference, 42);
  o.batch_per_rank = 6;
  const DistributedSampler one(60, o);
  EXPECT_EQ(one.batches_per_epoch(), 10);
  EXPECT_EQ(one.batch(0, 0), (Indices{44, 49, 19, 3, 47, 2}));
  EXPECT_EQ(one.batch(1, 9), (Indices{31, 9, 49, 30, 0, 41}));
  o.world_size = 2;
  o.batch_per_rank = 3;
  for (int r = 0; r < 2; ++r) {
    o.rank = r;
    const DistributedSampler two(60, o);
    EXPECT_EQ(two.batches_per_epoch(), 10);
    EXPECT_EQ(two.batch(1, 9), r == 0 ? (Indices{31, 49, 0}) : (Indices{9, 30, 41})) << "rank " << r;
  }
}

TEST(SamplerReference, PortableOrderUsesTheRunSeed) {
  const auto o = shuffled_sampler_options(ShuffleOrder::Portable, 42);
  EXPECT_EQ(o.seed, 42u);
  EXPECT_EQ(o.permutation(10, 42), cma::data::portable_permutation(10, 42));
  EXPECT_NE(o.permutation(10, 42), torch_permutation(10, 42));
}

TEST(SamplerReference, OptionNamesRoundTrip) {
  const auto& names = cma::data::shuffle_order_names();
  ASSERT_EQ(names.size(), 2u);
  EXPECT_EQ(names[0].first, "reference");
  EXPECT_EQ(names[0].second, ShuffleOrder::Reference);
  EXPECT_EQ(names[1].first, "portable");
  EXPECT_EQ(names[1].second, ShuffleOrder::Portable);
  EXPECT_EQ(cma::data::DataOptions{}.shuffle, ShuffleOrder::Reference);  // the reference's order by default
}

}  // namespace
