#include "cma/data/sampler.h"

#include <algorithm>
#include <numeric>
#include <random>
#include <string>

#include "cma/core/error.h"

namespace cma::data {
namespace {

// Uniform in [0, bound) by rejection: draws below 2^64 mod bound would favour small values.
uint64_t bounded(std::mt19937_64& gen, uint64_t bound) {
  const uint64_t threshold = (0 - bound) % bound;  // 2^64 mod bound
  for (;;) {
    const uint64_t r = gen();
    if (r >= threshold) return r % bound;
  }
}

}  // namespace

std::vector<int64_t> portable_permutation(int64_t n, uint64_t seed) {
  std::vector<int64_t> perm(static_cast<size_t>(n));
  std::iota(perm.begin(), perm.end(), int64_t{0});
  std::mt19937_64 gen(seed);
  for (int64_t i = n - 1; i > 0; --i) {
    const auto j = static_cast<int64_t>(bounded(gen, static_cast<uint64_t>(i) + 1));
    std::swap(perm[static_cast<size_t>(i)], perm[static_cast<size_t>(j)]);
  }
  return perm;
}

DistributedSampler::DistributedSampler(int64_t dataset_size, SamplerOptions o)
    : n_(dataset_size), o_(o), cache_(std::make_unique<Cache>()) {
  require(n_ >= 0, "sampler: dataset size " + std::to_string(n_) + " must be >= 0");
  require(o_.world_size >= 1, "sampler: world_size " + std::to_string(o_.world_size) + " must be >= 1");
  require(o_.rank >= 0 && o_.rank < o_.world_size, "sampler: rank " + std::to_string(o_.rank) +
                                                       " must be in [0, world_size " +
                                                       std::to_string(o_.world_size) + ")");
  require(o_.batch_per_rank >= 1, "sampler: batch_per_rank " + std::to_string(o_.batch_per_rank) +
                                      " must be >= 1 (is the global batch smaller than the number of ranks?)");
  require(!o_.shuffle || static_cast<bool>(o_.permutation), "sampler: shuffle is on but no permutation is set");
}

DistributedSampler::DistributedSampler(const DistributedSampler& other)
    : n_(other.n_), o_(other.o_), cache_(std::make_unique<Cache>()) {}

DistributedSampler& DistributedSampler::operator=(const DistributedSampler& other) {
  if (this != &other) {
    n_ = other.n_;
    o_ = other.o_;
    cache_ = std::make_unique<Cache>();
  }
  return *this;
}

int64_t DistributedSampler::samples_per_rank() const {
  const int64_t w = o_.world_size;
  return o_.drop_last_ranks ? n_ / w : (n_ + w - 1) / w;
}

int64_t DistributedSampler::batches_per_epoch() const {
  const int64_t s = samples_per_rank(), b = o_.batch_per_rank;
  return o_.drop_last ? s / b : (s + b - 1) / b;
}

std::vector<int64_t> DistributedSampler::rank_indices(int64_t epoch) const {
  std::vector<int64_t> order;
  if (o_.shuffle) {
    order = o_.permutation(n_, o_.seed + static_cast<uint64_t>(epoch));
    require(static_cast<int64_t>(order.size()) == n_, "sampler: the permutation of epoch " + std::to_string(epoch) +
                                                          " has " + std::to_string(order.size()) +
                                                          " indices, expected " + std::to_string(n_));
  } else {
    order.resize(static_cast<size_t>(n_));
    std::iota(order.begin(), order.end(), int64_t{0});
  }
  const int64_t total = samples_per_rank() * o_.world_size;
  // Padding repeats the order from its start, cyclically when it is shorter than the padding.
  for (int64_t k = n_; k < total; ++k) order.push_back(order[static_cast<size_t>((k - n_) % n_)]);
  order.resize(static_cast<size_t>(total));
  std::vector<int64_t> mine;
  mine.reserve(static_cast<size_t>(samples_per_rank()));
  for (int64_t k = o_.rank; k < total; k += o_.world_size) mine.push_back(order[static_cast<size_t>(k)]);
  return mine;
}

std::vector<int64_t> DistributedSampler::batch(int64_t epoch, int64_t index) const {
  require(index >= 0 && index < batches_per_epoch(), "sampler: batch " + std::to_string(index) +
                                                         " out of range [0, " +
                                                         std::to_string(batches_per_epoch()) + ")");
  std::lock_guard<std::mutex> lock(cache_->mutex);
  if (!cache_->valid || cache_->epoch != epoch) {
    cache_->indices = rank_indices(epoch);
    cache_->epoch = epoch;
    cache_->valid = true;
  }
  const auto& all = cache_->indices;
  const int64_t begin = index * o_.batch_per_rank;
  const int64_t end = std::min<int64_t>(begin + o_.batch_per_rank, static_cast<int64_t>(all.size()));
  return std::vector<int64_t>(all.begin() + begin, all.begin() + end);
}

}  // namespace cma::data
