#include "cma/data/shuffle.h"

#include <ATen/CPUGeneratorImpl.h>

#include "cma/core/error.h"

namespace cma::data {

std::vector<int64_t> torch_permutation(int64_t n, uint64_t seed) {
  require(n >= 0, "torch_permutation: n " + std::to_string(n) + " must be >= 0");
  // A generator of its own, like the torch.Generator() DistributedSampler creates per epoch: the
  // global one (adapter init, dropout) is neither read nor advanced.
  auto gen = at::make_generator<at::CPUGeneratorImpl>(seed);
  const auto perm = torch::randperm(n, gen, torch::TensorOptions().dtype(torch::kLong)).contiguous();
  const auto* p = perm.data_ptr<int64_t>();
  return std::vector<int64_t>(p, p + n);
}

SamplerOptions shuffled_sampler_options(ShuffleOrder order, uint64_t run_seed) {
  SamplerOptions o;
  o.shuffle = true;
  if (order == ShuffleOrder::Reference) {
    o.permutation = torch_permutation;
    o.seed = kReferenceSamplerSeed;
  } else {
    o.permutation = portable_permutation;
    o.seed = run_seed;
  }
  return o;
}

}  // namespace cma::data
