// The multi-threaded batch loader, without LibTorch: captions tokenised, frames sampled and
// decoded (from frame folders) or copied (from the frame cache) into one Batch of plain arrays that
// the trainer turns into tensors.
//
// Determinism: a batch's bytes depend only on (epoch, index), the pairs and the options, never on
// the number of workers or on thread timing; the folder and cache sources give the same bytes for
// the same frames (the cache holds exactly what the folder source computes).
//
// Legend: B pairs in the batch, L = max_words, F = max_frames, S = frame_size.
#pragma once
#include <condition_variable>
#include <cstdint>
#include <exception>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "cma/data/msrvtt.h"
#include "cma/data/options.h"
#include "cma/data/sampler.h"
#include "cma/data/tokenizer.h"

namespace cma::data {

struct Batch {
  int64_t epoch = 0, index = 0;      // which batch of which epoch (sampler.batch(epoch, index))
  int B = 0, L = 0, F = 0, S = 0;
  std::vector<int64_t> ids;          // [B, L] caption token ids (SOT, text, EOT, zeros)
  std::vector<int64_t> text_mask;    // [B, L] 1 on SOT, text and EOT
  std::vector<uint8_t> frames;       // [B, F, S, S, 3] HWC RGB uint8, zero for padding frames
  std::vector<int64_t> frame_mask;   // [B, F] 1 on real frames (the first ones), 0 on padding
  std::vector<std::string> video_ids;   // [B]
  std::vector<int64_t> pair_indices;    // [B] indices into the split's pairs
};

// Where a video's frames come from. Implementations are safe to call from many threads at once.
class FrameSource {
 public:
  virtual ~FrameSource() = default;
  // Writes the video's sampled frames (sample_frame_indices over its frames, at most max_frames)
  // into `out` (room for max_frames * S*S*3 bytes), frame after frame, and returns how many were
  // written; the caller zeroes the rest. Throws cma::Error naming the video on failure.
  virtual int load(const std::string& video_id, int max_frames, int slice_framepos, uint8_t* out) const = 0;
  // What would keep load() from giving this video's frames, found without decoding a pixel: ""
  // when the video looks usable, else why not (naming the folder, frame or cache).
  virtual std::string problem(const std::string& video_id, int max_frames, int slice_framepos) const = 0;
};

// Decodes frames_folder(o, id)'s images on the fly (list_frame_files order) and applies
// clip_resize_crop(o.frame_size). An unreadable frame is left out with a warning (the following
// ones move up), as cma prepare does. Needs OpenCV (throws cma::Error without it).
std::unique_ptr<FrameSource> make_folder_source(const DataOptions& o);

// Copies the same frames out of a frame cache (memory-mapped; each video's checksum is checked on
// first use). Throws cma::Error naming the file and both sizes when the cache's frame size is not
// `frame_size`.
std::unique_ptr<FrameSource> make_cache_source(const std::string& cache_path, int frame_size);

// The source DataOptions asks for: the cache when o.frames_cache is set, else the folders.
std::unique_ptr<FrameSource> make_frame_source(const DataOptions& o);

class Loader {
 public:
  // Yields sampler.batch(epoch, i) for i in [start_index, sampler.batches_per_epoch()), assembled
  // by o.workers threads (0: in next(), on the calling thread) at most o.prefetch batches ahead.
  // Workers take single pairs, so even one batch keeps every worker busy. The references must
  // outlive the loader.
  Loader(const std::vector<Pair>& pairs, const Tokenizer& tok, const FrameSource& src,
         const DistributedSampler& sampler, const DataOptions& o, int64_t epoch, int64_t start_index = 0);
  // Stops and joins the workers, also when the epoch was not read to its end.
  ~Loader();
  Loader(const Loader&) = delete;
  Loader& operator=(const Loader&) = delete;

  // The next batch, strictly in index order; std::nullopt after the last one. A failure while
  // assembling a batch is rethrown here as cma::Error (naming the batch and the video) when that
  // batch is due, and again on every later call.
  std::optional<Batch> next();
  // Total time next() has spent waiting for (or, with no workers, assembling) batches.
  double wait_seconds() const { return wait_seconds_; }
  int64_t batches_total() const { return end_index_; }

 private:
  struct Slot;
  void work();
  Slot* open_slot(int64_t index);         // under mu_
  bool claim(Slot** slot, int* item);     // under mu_: an unclaimed pair in the window, if any
  void fill_item(Slot& slot, int item) const;
  std::unique_ptr<Slot> make_slot(int64_t index) const;
  Batch assemble_now(int64_t index);

  const std::vector<Pair>& pairs_;
  const Tokenizer& tok_;
  const FrameSource& src_;
  const DistributedSampler& sampler_;
  const DataOptions o_;
  const int64_t epoch_;
  const int64_t end_index_;
  int64_t next_index_;          // the batch next() returns next (under mu_ when there are workers)
  double wait_seconds_ = 0;
  std::exception_ptr failed_;   // sticky after a failure was rethrown

  std::mutex mu_;
  std::condition_variable cv_;
  std::map<int64_t, std::unique_ptr<Slot>> slots_;  // batches in flight, [next_index_, +prefetch)
  int64_t next_open_ = 0;       // the next batch index to open a slot for
  int opening_ = 0;             // slots being built outside the lock (placeholders)
  bool stop_ = false;
  std::vector<std::thread> workers_;
};

}  // namespace cma::data
