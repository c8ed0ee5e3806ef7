// Typed options of the data subsystem. The JSON config and the CLI flags bind to these fields;
// each default lives here only.
#pragma once
#include <string>
#include <utility>
#include <vector>

namespace cma::data {

// How the training sampler shuffles each epoch (data/shuffle.h, docs/reference.md §6).
enum class ShuffleOrder {
  Reference,  // the reference's: torch.randperm with a generator seeded 0 + epoch (DistributedSampler's
              // default seed, which train.py never changes; --seed does not enter it)
  Portable,   // Fisher-Yates over std::mt19937_64(--seed + epoch): the same on every platform
};
// The flag's spelling of each order ("reference", "portable").
const std::vector<std::pair<std::string, ShuffleOrder>>& shuffle_order_names();

// What the check before a run does with a video whose frames are missing or unreadable
// (data/video_check.h).
enum class BadVideos {
  Skip,   // leave its pairs out, named in one summary warning with the count
  Error,  // stop before any work, naming the video and what is wrong
};
const std::vector<std::pair<std::string, BadVideos>>& bad_videos_names();

// Which annotation layout --anno_path holds (data/caption_sets.h, README.md, "Other data sets").
enum class Datatype { Msrvtt, Msvd, Vatex, Didemo, ActivityNet, Lsmdc, Flickr30k, Coco, CaptionSet };
const std::vector<std::pair<std::string, Datatype>>& datatype_names();

struct DataOptions {
  Datatype datatype = Datatype::Msrvtt;  // the annotation layout under anno_path
  std::string anno_path;         // folder of the annotation files (MSR-VTT: MSRVTT_data.json and the split csv files)
  std::string features_path;     // frames: <video_id>.mp4/ or <video_id>/ folders (1 fps JPEG/PNG), or <image> files
  std::string frames_cache;      // cma prepare's cache file; when set, frames come from it
  bool train7k = false;          // read MSRVTT_train.7k.csv instead of the 9k split
  int max_words = 32;            // caption tokens including start and end
  int max_frames = 12;           // frames per video (zero-padded, masked)
  int frame_size = 224;          // square frame side after resize and crop (the model's resolution)
  int slice_framepos = 2;        // more frames than max_frames: 0 head, 1 tail, 2 uniform (linspace)
  ShuffleOrder shuffle = ShuffleOrder::Reference;  // training order: reference | portable
  BadVideos bad_videos = BadVideos::Skip;          // a video that fails the check before the run: skip | error
  int workers = 4;               // decoding threads of the loader
  int prefetch = 4;              // batches decoded ahead (bounded queue)
  std::string tokenizer = "clip";  // clip (BPE vocabulary) | bytes (no merges, no vocabulary needed)
  std::string bpe_vocab;         // path of bpe_simple_vocab_16e6.txt.gz (else searched, see tokenizer.h)

  // Checks every field; messages name the flag, the value and what is allowed.
  void validate() const;
};

}  // namespace cma::data
