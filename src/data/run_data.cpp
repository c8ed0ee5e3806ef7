#include "cma/data/run_data.h"

#include "cma/core/error.h"
#include "cma/core/log.h"
#include "cma/data/video_check.h"

namespace cma::data {

namespace {

// Checks the videos of a split the run needs (an unneeded one is emptied) and that pairs remain.
void prepare_split(std::vector<Pair>& pairs, bool needed, const std::string& name, const std::string& source,
                   const FrameSource& frames, const DataOptions& o) {
  if (!needed) {
    pairs.clear();
    return;
  }
  require(!pairs.empty(), "the " + name + " split is empty: " + source + " give no pairs (a csv with only its header, "
                          "or none of its videos has a caption)");
  check_videos(pairs, frames, o, name);
}

}  // namespace

RunData open_run_data(const DataOptions& o, const std::string& weights_path, int frame_size, int vocab_limit,
                      SplitsNeeded needed) {
  RunData r;
  r.options = o;
  r.options.frame_size = frame_size;  // frames are resized and cropped to the model's input
  r.tokenizer = std::make_unique<Tokenizer>(o.tokenizer == "bytes" ? Tokenizer::bytes_only()
                                                                   : Tokenizer::clip(find_bpe_vocab(o.bpe_vocab, weights_path)));
  require(r.tokenizer->vocab_size() <= vocab_limit,
          "the tokenizer's " + std::to_string(r.tokenizer->vocab_size()) + " ids exceed the model's vocabulary of " +
              std::to_string(vocab_limit) + " (--tokenizer " + o.tokenizer + ")");
  r.splits = read_splits(o);
  r.frames = make_frame_source(r.options);
  prepare_split(r.splits.train, needed.train, "train", r.splits.train_source, *r.frames, o);
  prepare_split(r.splits.test, needed.test, "test", r.splits.test_source, *r.frames, o);
  // Only the splits this run uses: an evaluation has no training pairs to speak of.
  std::string counts;
  if (needed.train) counts += std::to_string(r.splits.train.size()) + " training pairs, ";
  if (needed.test) counts += std::to_string(r.splits.test.size()) + " test pairs, ";
  log::info("data", "{}frames from {}", counts, o.frames_cache.empty() ? o.features_path : o.frames_cache);
  return r;
}

}  // namespace cma::data
