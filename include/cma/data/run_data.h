// What a training or evaluation run reads, set up in one place: the tokenizer, the MSR-VTT
// splits (videos that fail the check before the run left out) and the frame source at the
// model's input resolution. Torch-free.
#pragma once
#include <memory>
#include <string>

#include "cma/data/loader.h"
#include "cma/data/msrvtt.h"
#include "cma/data/options.h"
#include "cma/data/tokenizer.h"

namespace cma::data {

struct RunData {
  DataOptions options;  // as given, with frame_size set to the model's resolution
  std::unique_ptr<Tokenizer> tokenizer;
  Splits splits;
  std::unique_ptr<FrameSource> frames;
};

// Which splits the run reads: those it does not are left empty and unchecked.
struct SplitsNeeded {
  bool train = true, test = true;
};

// `weights_path`: where the CLIP weights are (the vocabulary may sit beside them; "" for random
// weights). `frame_size`: the model's input side. `vocab_limit`: the model's vocabulary size;
// a tokenizer with more ids is an error naming both. Every video of a needed split is checked
// (data/video_check.h), and a needed split left empty is an error naming its files.
RunData open_run_data(const DataOptions& o, const std::string& weights_path, int frame_size, int vocab_limit,
                      SplitsNeeded needed = {});

}  // namespace cma::data
