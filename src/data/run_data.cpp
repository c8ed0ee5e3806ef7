#include "cma/data/run_data.h"

#include "cma/core/error.h"
#include "cma/core/log.h"

namespace cma::data {

RunData open_run_data(const DataOptions& o, const std::string& weights_path, int frame_size, int vocab_limit) {
  RunData r;
  r.options = o;
  r.options.frame_size = frame_size;  // frames are resized and cropped to the model's input
  r.tokenizer = std::make_unique<Tokenizer>(o.tokenizer == "bytes" ? Tokenizer::bytes_only()
                                                                   : Tokenizer::clip(find_bpe_vocab(o.bpe_vocab, weights_path)));
  require(r.tokenizer->vocab_size() <= vocab_limit,
          "the tokenizer's " + std::to_string(r.tokenizer->vocab_size()) + " ids exceed the model's vocabulary of " +
              std::to_string(vocab_limit) + " (--tokenizer " + o.tokenizer + ")");
  r.splits = read_msrvtt(o);
  if (o.frames_cache.empty()) {  // the cache holds only videos that had frames
    drop_videos_without_frames(r.splits.train, o, "train");
    drop_videos_without_frames(r.splits.test, o, "test");
  }
  r.frames = make_frame_source(r.options);
  log::info("data", "{} training pairs, {} test pairs, frames from {}", r.splits.train.size(), r.splits.test.size(),
            o.frames_cache.empty() ? o.features_path : o.frames_cache);
  return r;
}

}  // namespace cma::data
