// Which dataset indices each rank reads, batch by batch: PyTorch's DistributedSampler followed by
// a DataLoader's batching, as the reference's training loader uses them (docs/reference.md §6).
//
// Per epoch: a permutation of [0, n) (or the identity when not shuffling); padded to a multiple
// of world_size by repeating its head, or truncated to one (drop_last_ranks); rank r takes
// positions r, r + W, r + 2W, ...; then batches of batch_per_rank, the incomplete last one dropped
// when drop_last.
//
// The permutation is a function of (n, seed + epoch) chosen in SamplerOptions. This torch-free
// library has the portable one: a Fisher-Yates shuffle driven by std::mt19937_64 with our own
// unbiased bounded draw (the standard distributions differ between C++ libraries), the same on
// every platform. The reference's, torch.randperm with a CPU generator, is in LibTorch's half
// (data/shuffle.h), which also picks the seed each order uses.
#pragma once
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <vector>

namespace cma::data {

// A permutation of [0, n) drawn from `seed` (the sampler passes its seed plus the epoch).
using Permutation = std::function<std::vector<int64_t>(int64_t n, uint64_t seed)>;

// Fisher-Yates over std::mt19937_64(seed): the same order with every compiler and library.
std::vector<int64_t> portable_permutation(int64_t n, uint64_t seed);

struct SamplerOptions {
  uint64_t seed = 0;             // permutation seed; epoch e uses seed + e (PyTorch's default is 0)
  Permutation permutation = portable_permutation;  // how an epoch is shuffled (data/shuffle.h
                                                   // has the reference's, torch.randperm)
  bool shuffle = true;           // false: dataset order (the test loader)
  bool drop_last = true;         // drop each rank's incomplete last batch (the DataLoader's
                                 // drop_last: true for training, false for test)
  bool drop_last_ranks = false;  // DistributedSampler's drop_last: truncate to a multiple of
                                 // world_size instead of padding. The reference keeps PyTorch's
                                 // default (false: pad by repeating the epoch's first indices)
  int rank = 0;                  // this process, in [0, world_size)
  int world_size = 1;            // number of ranks splitting each epoch
  int batch_per_rank = 1;        // samples per batch on one rank (global batch / world_size)
};

class DistributedSampler {
 public:
  // Throws cma::Error on a negative dataset size or an invalid rank, world size or batch size,
  // naming the field and the value.
  DistributedSampler(int64_t dataset_size, SamplerOptions o);
  DistributedSampler(const DistributedSampler& other);
  DistributedSampler& operator=(const DistributedSampler& other);
  DistributedSampler(DistributedSampler&&) noexcept = default;
  DistributedSampler& operator=(DistributedSampler&&) noexcept = default;
  ~DistributedSampler() = default;

  int64_t dataset_size() const { return n_; }
  const SamplerOptions& options() const { return o_; }
  // Indices per rank per epoch (PyTorch's num_samples): ceil(n / W), or floor(n / W) when
  // drop_last_ranks.
  int64_t samples_per_rank() const;
  int64_t batches_per_epoch() const;
  // This rank's whole epoch, in order ([samples_per_rank()]).
  std::vector<int64_t> rank_indices(int64_t epoch) const;
  // The dataset indices of batch `index` (in [0, batches_per_epoch())) of `epoch`.
  // Thread-safe: the epoch's order is cached behind a mutex and recomputed when the epoch changes.
  std::vector<int64_t> batch(int64_t epoch, int64_t index) const;

 private:
  struct Cache {
    std::mutex mutex;
    int64_t epoch = -1;
    bool valid = false;
    std::vector<int64_t> indices;  // rank_indices(epoch)
  };
  int64_t n_;
  SamplerOptions o_;
  std::unique_ptr<Cache> cache_;
};

}  // namespace cma::data
