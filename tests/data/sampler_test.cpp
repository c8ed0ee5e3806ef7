// The distributed sampler: PyTorch DistributedSampler + DataLoader batching semantics, with our own
// portable permutation (the reference's, torch.randperm, is tested in sampler_torch_test.cpp).
#include "cma/data/sampler.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <numeric>
#include <set>
#include <thread>

#include "cma/core/error.h"

namespace {

using cma::data::DistributedSampler;
using cma::data::SamplerOptions;

SamplerOptions opts(int rank, int world, int batch, bool drop_last = true, bool drop_last_ranks = false,
                    uint64_t seed = 42) {
  SamplerOptions o;
  o.seed = seed;
  o.rank = rank;
  o.world_size = world;
  o.batch_per_rank = batch;
  o.drop_last = drop_last;
  o.drop_last_ranks = drop_last_ranks;
  return o;
}

// Every batch of one epoch, concatenated.
std::vector<int64_t> epoch_batches(const DistributedSampler& s, int64_t epoch) {
  std::vector<int64_t> all;
  for (int64_t b = 0; b < s.batches_per_epoch(); ++b) {
    const auto batch = s.batch(epoch, b);
    all.insert(all.end(), batch.begin(), batch.end());
  }
  return all;
}

TEST(SamplerPermutation, PortableIsAPermutationAndPinned) {
  const auto p = cma::data::portable_permutation(1000, 7);
  std::vector<int64_t> sorted = p;
  std::sort(sorted.begin(), sorted.end());
  for (int64_t i = 0; i < 1000; ++i) ASSERT_EQ(sorted[i], i);
  // std::mt19937_64 is specified bit-for-bit by the standard and the bounded draw is ours, so this
  // order is the same with every compiler and library.
  EXPECT_EQ(cma::data::portable_permutation(10, 42), (std::vector<int64_t>{1, 7, 9, 0, 3, 8, 4, 2, 5, 6}));
  EXPECT_TRUE(cma::data::portable_permutation(0, 1).empty());
  EXPECT_EQ(cma::data::portable_permutation(1, 1), (std::vector<int64_t>{0}));
}

TEST(SamplerDistributed, PaddedRanksCoverEveryIndex) {
  const int64_t n = 103;
  const int world = 4;
  std::map<int64_t, int> seen;
  for (int r = 0; r < world; ++r) {
    const DistributedSampler s(n, opts(r, world, 5, /*drop_last=*/false));
    EXPECT_EQ(s.samples_per_rank(), 26);
    EXPECT_EQ(s.batches_per_epoch(), 6);  // 5 full batches and one of 1
    const auto mine = s.rank_indices(3);
    EXPECT_EQ(epoch_batches(s, 3), mine) << "rank " << r;
    for (int64_t i : mine) ++seen[i];
  }
  ASSERT_EQ(seen.size(), static_cast<size_t>(n));  // every index reached
  // 104 slots for 103 indices: the padding repeats the epoch's first index once.
  const int64_t first = cma::data::portable_permutation(n, 42 + 3)[0];
  for (const auto& [index, count] : seen) EXPECT_EQ(count, index == first ? 2 : 1) << "index " << index;
}

TEST(SamplerDistributed, TruncatedRanksAreDisjoint) {
  const int64_t n = 103;
  const int world = 4;
  std::set<int64_t> seen;
  size_t total = 0;
  for (int r = 0; r < world; ++r) {
    const DistributedSampler s(n, opts(r, world, 5, /*drop_last=*/true, /*drop_last_ranks=*/true));
    EXPECT_EQ(s.samples_per_rank(), 25);
    EXPECT_EQ(s.batches_per_epoch(), 5);
    const auto mine = s.rank_indices(0);
    total += mine.size();
    seen.insert(mine.begin(), mine.end());
  }
  EXPECT_EQ(total, 100u);
  EXPECT_EQ(seen.size(), 100u);  // no index on two ranks; the permutation's last 3 are left out
  const auto perm = cma::data::portable_permutation(n, 42);
  for (int k = 100; k < 103; ++k) EXPECT_EQ(seen.count(perm[k]), 0u);
}

TEST(SamplerDistributed, RankTakesEveryWorldSizeThPosition) {
  const auto perm = cma::data::portable_permutation(12, 42 + 2);
  const DistributedSampler s(12, opts(1, 3, 2));
  EXPECT_EQ(s.rank_indices(2), (std::vector<int64_t>{perm[1], perm[4], perm[7], perm[10]}));
  EXPECT_EQ(s.batch(2, 1), (std::vector<int64_t>{perm[7], perm[10]}));
}

TEST(SamplerDistributed, OrderDependsOnlyOnSeedEpochRankWorld) {
  const DistributedSampler a(500, opts(2, 4, 8));
  const DistributedSampler b(500, opts(2, 4, 3, /*drop_last=*/false));  // other batching, same order
  const DistributedSampler c = a;                                     // a copy starts with no cache
  const auto epoch5 = a.rank_indices(5);
  EXPECT_EQ(b.rank_indices(5), epoch5);
  // Visiting epochs in any order, through the cache, gives the same batches.
  const auto b5 = a.batch(5, 4);
  a.batch(1, 0);
  EXPECT_EQ(a.batch(5, 4), b5);
  EXPECT_EQ(c.batch(5, 4), b5);
  EXPECT_EQ(b5, std::vector<int64_t>(epoch5.begin() + 32, epoch5.begin() + 40));

  EXPECT_NE(a.rank_indices(6), epoch5);                                       // another epoch
  EXPECT_NE(DistributedSampler(500, opts(2, 4, 8, true, false, 43)).rank_indices(5), epoch5);  // another seed
  EXPECT_NE(DistributedSampler(500, opts(1, 4, 8)).rank_indices(5), epoch5);  // another rank
  // The epoch's permutation is shared by all ranks: seed + epoch, nothing else.
  EXPECT_EQ(DistributedSampler(500, opts(0, 1, 8, true, false, 40)).rank_indices(7),
            DistributedSampler(500, opts(0, 1, 8, true, false, 42)).rank_indices(5));
}

TEST(SamplerDistributed, NoShuffleKeepsDatasetOrder) {
  SamplerOptions o = opts(0, 1, 4, /*drop_last=*/false);
  o.shuffle = false;
  const DistributedSampler s(10, o);
  EXPECT_EQ(s.batches_per_epoch(), 3);
  EXPECT_EQ(s.batch(0, 0), (std::vector<int64_t>{0, 1, 2, 3}));
  EXPECT_EQ(s.batch(9, 2), (std::vector<int64_t>{8, 9}));  // the incomplete last batch is kept
  o.rank = 1, o.world_size = 3;
  EXPECT_EQ(DistributedSampler(10, o).rank_indices(0), (std::vector<int64_t>{1, 4, 7, 0}));  // padded with 0
}

TEST(SamplerDistributed, DropLastBatches) {
  // 10 samples, 3 ranks: padded to 12, 4 per rank; batches of 3.
  EXPECT_EQ(DistributedSampler(10, opts(0, 3, 3, /*drop_last=*/true)).batches_per_epoch(), 1);
  const DistributedSampler keep(10, opts(0, 3, 3, /*drop_last=*/false));
  EXPECT_EQ(keep.batches_per_epoch(), 2);
  EXPECT_EQ(keep.batch(0, 1).size(), 1u);
  // Truncated to 9, 3 per rank.
  EXPECT_EQ(DistributedSampler(10, opts(0, 3, 3, true, /*drop_last_ranks=*/true)).batches_per_epoch(), 1);
  EXPECT_EQ(DistributedSampler(10, opts(0, 3, 4, false, true)).batches_per_epoch(), 1);
  EXPECT_EQ(DistributedSampler(10, opts(0, 3, 4, true, true)).batches_per_epoch(), 0);
  // The reference's epoch: 9k videos x 20 captions at a global batch of 128 is 1406 steps.
  EXPECT_EQ(DistributedSampler(180000, opts(0, 1, 128)).batches_per_epoch(), 1406);
  EXPECT_EQ(DistributedSampler(180000, opts(3, 4, 32)).batches_per_epoch(), 1406);
  EXPECT_EQ(DistributedSampler(0, opts(0, 2, 4)).batches_per_epoch(), 0);
  // Fewer samples than ranks: padding cycles through the order.
  const DistributedSampler tiny(2, opts(4, 5, 1, false));
  EXPECT_EQ(tiny.rank_indices(0), (std::vector<int64_t>{cma::data::portable_permutation(2, 42)[0]}));
}

TEST(SamplerDistributed, ConcurrentBatchesMatch) {
  const DistributedSampler s(1000, opts(1, 2, 16));
  std::vector<std::vector<int64_t>> want;
  for (int e = 0; e < 4; ++e) want.push_back(epoch_batches(DistributedSampler(1000, opts(1, 2, 16)), e));
  std::vector<int> failures(4, 0);
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int round = 0; round < 20; ++round) {
        const int e = (t + round) % 4;
        const int64_t b = round % s.batches_per_epoch();
        const auto got = s.batch(e, b);
        if (!std::equal(got.begin(), got.end(), want[e].begin() + b * 16)) ++failures[t];
      }
    });
  }
  for (auto& th : threads) th.join();
  for (int t = 0; t < 4; ++t) EXPECT_EQ(failures[t], 0) << "thread " << t;
}

TEST(SamplerDistributed, InvalidOptionsNameTheField) {
  EXPECT_THROW(DistributedSampler(10, opts(2, 2, 1)), cma::Error);
  try {
    DistributedSampler(10, opts(0, 2, 0));
    FAIL() << "expected a cma::Error";
  } catch (const cma::Error& e) {
    EXPECT_NE(std::string(e.what()).find("batch_per_rank 0"), std::string::npos) << e.what();
  }
  EXPECT_THROW(DistributedSampler(10, opts(0, 0, 1)), cma::Error);
  EXPECT_THROW(DistributedSampler(-1, opts(0, 1, 1)), cma::Error);
  EXPECT_THROW(DistributedSampler(10, opts(0, 1, 4)).batch(0, 2), cma::Error);
}

}  // namespace
