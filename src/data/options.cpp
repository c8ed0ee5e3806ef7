#include "cma/data/options.h"

#include "cma/core/error.h"

namespace cma::data {

const std::vector<std::pair<std::string, ShuffleOrder>>& shuffle_order_names() {
  static const std::vector<std::pair<std::string, ShuffleOrder>> names = {{"reference", ShuffleOrder::Reference},
                                                                          {"portable", ShuffleOrder::Portable}};
  return names;
}

const std::vector<std::pair<std::string, BadVideos>>& bad_videos_names() {
  static const std::vector<std::pair<std::string, BadVideos>> names = {{"skip", BadVideos::Skip},
                                                                       {"error", BadVideos::Error}};
  return names;
}

const std::vector<std::pair<std::string, Datatype>>& datatype_names() {
  static const std::vector<std::pair<std::string, Datatype>> names = {
      {"msrvtt", Datatype::Msrvtt}, {"msvd", Datatype::Msvd},           {"vatex", Datatype::Vatex},
      {"didemo", Datatype::Didemo}, {"activitynet", Datatype::ActivityNet}, {"lsmdc", Datatype::Lsmdc},
      {"flickr30k", Datatype::Flickr30k}, {"coco", Datatype::Coco},     {"caption_set", Datatype::CaptionSet}};
  return names;
}

void DataOptions::validate() const {
  require(max_words >= 3, "--max_words " + std::to_string(max_words) + " must be at least 3 (start, one token, end)");
  require(max_frames >= 1, "--max_frames " + std::to_string(max_frames) + " must be at least 1");
  require(frame_size >= 1, "frame size " + std::to_string(frame_size) + " must be positive");
  require(slice_framepos >= 0 && slice_framepos <= 2,
          "--slice_framepos " + std::to_string(slice_framepos) + " must be 0 (head), 1 (tail) or 2 (uniform)");
  require(workers >= 0, "--workers " + std::to_string(workers) + " must be >= 0");
  require(prefetch >= 1, "--prefetch " + std::to_string(prefetch) + " must be >= 1");
  require(tokenizer == "clip" || tokenizer == "bytes",
          "--tokenizer '" + tokenizer + "' is not one of clip, bytes");
}

}  // namespace cma::data
