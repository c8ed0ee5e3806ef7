// The caption-set form every data set is read into, and the readers of the public annotation
// layouts of the paper's benchmarks (README.md, "Other data sets"). The loader, the frame cache, the sampler
// and the evaluation read only this form. Torch-free.
//
// A split is a list of (video, caption) pairs. A "video" is a key that the frame source resolves
// under --features_path (find_frame_files in data/msrvtt.h): a folder of frames, or one image file for the
// image-text sets. Training pairs keep the order the reference reads them in (MSR-VTT's is its
// JSON's sentence order, where one video's captions are not adjacent).
#pragma once
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "cma/data/options.h"

namespace cma::data {

// One retrieval pair: a video and one caption of it.
struct Pair {
  std::string video_id;
  std::string caption;
};

// How the test split is scored (docs/reference.md §10).
enum class TestProtocol {
  // One caption per row, row i belongs to the video of pair i (MSR-VTT's 1k-A, LSMDC, and every
  // paragraph set): a square captions x videos matrix.
  Single,
  // Several captions per video, each video's captions adjacent and in video order (MSVD, VATEX,
  // Flickr30K, MSCOCO): every caption is scored against every distinct video; text-to-video ranks
  // per caption, video-to-text takes each video's best caption (the reference's multi-sentence metric).
  MultiCaption,
};
const std::vector<std::pair<std::string, TestProtocol>>& test_protocol_names();

struct Splits {
  std::vector<Pair> train;
  std::vector<Pair> test;
  TestProtocol test_protocol = TestProtocol::Single;
  std::string train_source, test_source;  // the files each split was read from, for messages
};

// Reads the annotations o.datatype names from o.anno_path (each reader is declared below), then
// joins each video's captions into one paragraph when the data set is evaluated that way
// (DiDeMo, ActivityNet Captions: paragraph_splits). Errors name the file, the line or entry, and
// what was expected.
Splits read_splits(const DataOptions& o);

// Per data set. Each throws cma::Error naming the file and what is wrong (missing file, syntax
// error with its line, a missing key or column, an entry of the wrong type).
Splits read_msrvtt(const DataOptions& o);       // data/msrvtt.h
Splits read_msvd(const DataOptions& o);         // raw-captions.pkl, train_list.txt, test_list.txt
Splits read_vatex(const DataOptions& o);        // vatex_training_v1.0.json, vatex_validation_v1.0.json
Splits read_didemo(const DataOptions& o);       // train_data.json, test_data.json
Splits read_activitynet(const DataOptions& o);  // train.json, val_1.json
Splits read_lsmdc(const DataOptions& o);        // LSMDC16_annos_training.csv, LSMDC16_challenge_1000_publictect.csv
Splits read_karpathy(const DataOptions& o);     // dataset_flickr30k.json or dataset_coco.json
Splits read_caption_set(const DataOptions& o);  // our own caption_set.json (write_caption_set)

// One paragraph per video: each video's captions joined with single spaces in their order, the
// videos in order of first appearance, for both splits; the test protocol becomes Single.
Splits paragraph_splits(Splits s);

// The test pairs' videos in order, and how many adjacent captions each has. Throws cma::Error
// when a video's captions are not adjacent (a multi-caption split must be grouped by video).
struct VideoGroups {
  std::vector<std::string> videos;
  std::vector<int64_t> captions_per_video;
};
VideoGroups group_by_video(const std::vector<Pair>& pairs, const std::string& source);

// Our caption-set file (README.md, "Other data sets"): one JSON object
//   {"format": "cma.caption_set", "version": 1, "test_protocol": "single" | "multi_caption",
//    "train": [{"video": "id", "captions": ["...", ...]}, ...], "test": [...]}
// Train pairs are expanded video by video, caption by caption, in file order.
void write_caption_set(const std::string& path, const Splits& s);

}  // namespace cma::data
