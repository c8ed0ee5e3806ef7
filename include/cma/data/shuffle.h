// The training sampler's shuffle: the reference's order (torch.randperm) or the portable one
// (docs/reference.md §6). LibTorch half of data (shuffle_torch.cpp): reproducing torch.randperm
// bit for bit takes LibTorch's own CPU generator.
#pragma once
#include <cstdint>
#include <vector>

#include "cma/data/options.h"
#include "cma/data/sampler.h"

namespace cma::data {

// PyTorch's DistributedSampler seed when none is passed, as in the reference's train.py.
constexpr uint64_t kReferenceSamplerSeed = 0;

// torch.randperm(n, generator=torch.Generator().manual_seed(seed)) on the CPU, as int64: what
// DistributedSampler draws for epoch e with seed = its seed + e.
std::vector<int64_t> torch_permutation(int64_t n, uint64_t seed);

// Sampler options that shuffle as `order` says: Reference draws torch_permutation seeded
// kReferenceSamplerSeed + epoch, whatever run_seed is; Portable draws portable_permutation seeded
// run_seed + epoch. Rank, world size and batching are left to the caller.
SamplerOptions shuffled_sampler_options(ShuffleOrder order, uint64_t run_seed);

}  // namespace cma::data
