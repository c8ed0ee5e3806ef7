// Loader: workers fill the pairs of the next `prefetch` batches in parallel; next() hands batches out
// in index order. Each pair writes only its own rows of the batch, so the bytes do not depend on
// which worker filled what.
#include "cma/data/loader.h"

#include <chrono>
#include <cstring>

#include "cma/core/error.h"

namespace cma::data {

struct Loader::Slot {
  Batch batch;
  bool ready = false;        // built (make_slot ran); until then a placeholder
  int next_item = 0;         // the next unclaimed pair
  int remaining = 0;         // pairs not yet filled
  std::exception_ptr error;  // the first failure in this batch
};

namespace {

// Turns any failure into cma::Error with the batch (and pair) it happened in.
std::exception_ptr with_context(const std::string& where) {
  try {
    throw;
  } catch (const std::exception& e) {
    return std::make_exception_ptr(Error(where + ": " + e.what()));
  } catch (...) {
    return std::make_exception_ptr(Error(where + ": unknown error"));
  }
}

}  // namespace

Loader::Loader(const std::vector<Pair>& pairs, const Tokenizer& tok, const FrameSource& src,
               const DistributedSampler& sampler, const DataOptions& o, int64_t epoch, int64_t start_index)
    : pairs_(pairs), tok_(tok), src_(src), sampler_(sampler), o_(o), epoch_(epoch),
      end_index_(sampler.batches_per_epoch()), next_index_(start_index), next_open_(start_index) {
  o_.validate();
  require(sampler.dataset_size() == static_cast<int64_t>(pairs.size()),
          "loader: the sampler covers " + std::to_string(sampler.dataset_size()) + " pairs, the split has " +
              std::to_string(pairs.size()));
  require(start_index >= 0 && start_index <= end_index_,
          "loader: start batch " + std::to_string(start_index) + " is outside [0, " +
              std::to_string(end_index_) + "] for epoch " + std::to_string(epoch));
  for (int t = 0; t < o_.workers; ++t) workers_.emplace_back([this] { work(); });
}

Loader::~Loader() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  for (auto& t : workers_) t.join();
}

std::unique_ptr<Loader::Slot> Loader::make_slot(int64_t index) const {
  auto slot = std::make_unique<Slot>();
  Batch& b = slot->batch;
  b.epoch = epoch_;
  b.index = index;
  b.pair_indices = sampler_.batch(epoch_, index);
  b.B = static_cast<int>(b.pair_indices.size());
  b.L = o_.max_words;
  b.F = o_.max_frames;
  b.S = o_.frame_size;
  b.ids.assign(static_cast<size_t>(b.B) * b.L, 0);
  b.text_mask.assign(static_cast<size_t>(b.B) * b.L, 0);
  b.frames.assign(static_cast<size_t>(b.B) * b.F * b.S * b.S * 3, 0);
  b.frame_mask.assign(static_cast<size_t>(b.B) * b.F, 0);
  b.video_ids.resize(b.B);
  for (int i = 0; i < b.B; ++i) {
    const int64_t p = b.pair_indices[i];
    require(p >= 0 && p < static_cast<int64_t>(pairs_.size()),
            "sampler index " + std::to_string(p) + " is outside the split's " + std::to_string(pairs_.size()) + " pairs");
    b.video_ids[i] = pairs_[p].video_id;
  }
  slot->ready = true;
  slot->remaining = b.B;
  return slot;
}

void Loader::fill_item(Slot& slot, int item) const {
  Batch& b = slot.batch;
  const Pair& pair = pairs_[b.pair_indices[item]];
  const Tokenizer::Caption cap = tok_.encode_caption(pair.caption, b.L);
  std::copy(cap.ids.begin(), cap.ids.end(), b.ids.begin() + static_cast<size_t>(item) * b.L);
  std::copy(cap.mask.begin(), cap.mask.end(), b.text_mask.begin() + static_cast<size_t>(item) * b.L);
  const size_t frame_bytes = static_cast<size_t>(b.S) * b.S * 3;
  uint8_t* out = b.frames.data() + static_cast<size_t>(item) * b.F * frame_bytes;
  const int n = src_.load(pair.video_id, b.F, o_.slice_framepos, out);
  require(n >= 0 && n <= b.F, "frame source returned " + std::to_string(n) + " frames for video " +
                                  pair.video_id + ", expected 0.." + std::to_string(b.F));
  std::memset(out + n * frame_bytes, 0, (b.F - n) * frame_bytes);  // padding is zero whatever load() did
  for (int f = 0; f < n; ++f) b.frame_mask[static_cast<size_t>(item) * b.F + f] = 1;
}

Batch Loader::assemble_now(int64_t index) {
  const std::string where = "epoch " + std::to_string(epoch_) + " batch " + std::to_string(index);
  std::unique_ptr<Slot> slot;
  try {
    slot = make_slot(index);
  } catch (...) {
    std::rethrow_exception(with_context(where));
  }
  for (int i = 0; i < slot->batch.B; ++i) {
    try {
      fill_item(*slot, i);
    } catch (...) {
      std::rethrow_exception(with_context(where + ", video " + slot->batch.video_ids[i]));
    }
  }
  return std::move(slot->batch);
}

bool Loader::claim(Slot** slot, int* item) {
  for (auto& kv : slots_) {
    Slot& s = *kv.second;
    if (s.ready && s.next_item < s.batch.B) {
      *slot = &s;
      *item = s.next_item++;
      return true;
    }
  }
  return false;
}

void Loader::work() {
  std::unique_lock<std::mutex> lock(mu_);
  for (;;) {
    Slot* slot = nullptr;
    int item = 0;
    const bool can_open = next_open_ < end_index_ && next_open_ < next_index_ + o_.prefetch;
    if (stop_) return;
    if (claim(&slot, &item)) {
      const int64_t index = slot->batch.index;
      lock.unlock();
      std::exception_ptr error;
      try {
        fill_item(*slot, item);
      } catch (...) {
        error = with_context("epoch " + std::to_string(epoch_) + " batch " + std::to_string(index) +
                             ", video " + slot->batch.video_ids[item]);
      }
      lock.lock();
      if (error && !slot->error) slot->error = error;
      if (--slot->remaining == 0) cv_.notify_all();
    } else if (can_open) {
      // Build the batch's arrays outside the lock (large zero-filled allocations); a placeholder
      // keeps other workers off this index meanwhile.
      const int64_t index = next_open_++;
      slots_[index] = std::make_unique<Slot>();
      opening_ += 1;
      lock.unlock();
      std::unique_ptr<Slot> built;
      try {
        built = make_slot(index);
      } catch (...) {
        built = std::make_unique<Slot>();
        built->ready = true;
        built->error = with_context("epoch " + std::to_string(epoch_) + " batch " + std::to_string(index));
      }
      lock.lock();
      slots_[index] = std::move(built);
      opening_ -= 1;
      cv_.notify_all();
    } else if (next_open_ >= end_index_ && opening_ == 0) {
      return;  // every batch of the epoch is opened and every pair claimed
    } else {
      cv_.wait(lock);  // the window is full and claimed: wait for next() to take a batch
    }
  }
}

std::optional<Batch> Loader::next() {
  if (failed_) std::rethrow_exception(failed_);
  if (next_index_ >= end_index_) return std::nullopt;
  const auto t0 = std::chrono::steady_clock::now();
  std::optional<Batch> out;
  try {
    if (workers_.empty()) {
      out = assemble_now(next_index_);
      next_index_ += 1;
    } else {
      std::unique_ptr<Slot> slot;
      {
        std::unique_lock<std::mutex> lock(mu_);
        cv_.wait(lock, [&] {
          auto it = slots_.find(next_index_);
          return it != slots_.end() && it->second->ready && it->second->remaining == 0 &&
                 it->second->next_item == it->second->batch.B;
        });
        auto it = slots_.find(next_index_);
        slot = std::move(it->second);
        slots_.erase(it);
        next_index_ += 1;  // under the lock: workers read it to size their window
      }
      cv_.notify_all();  // the window moved: workers may open the next batch
      if (slot->error) std::rethrow_exception(slot->error);
      out = std::move(slot->batch);
    }
  } catch (...) {
    failed_ = std::current_exception();
    wait_seconds_ += std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    throw;
  }
  wait_seconds_ += std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return out;
}

}  // namespace cma::data
