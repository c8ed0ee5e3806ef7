// MSR-VTT annotations and frame folders in the layout the reference reads (docs/reference.md §7):
// anno_path/{MSRVTT_data.json, MSRVTT_train.9k.csv, MSRVTT_JSFUSION_test.csv} and
// features_path/<video_id>.mp4/ folders of frame images. Torch-free.
#pragma once
#include <string>
#include <vector>

#include "cma/data/caption_sets.h"
#include "cma/data/options.h"

namespace cma::data {

// read_msrvtt (declared in caption_sets.h) reads the three annotation files under o.anno_path (MSRVTT_train.7k.csv instead of the 9k file
// when o.train7k). Training pairs follow the reference's MSRVTTDataset with
// expand_msrvtt_sentences: it walks MSRVTT_data.json's "sentences" in file order and keeps each
// one whose video is in the training csv, so pairs of one video are not grouped and the csv's own
// order does not matter. Throws cma::Error naming the file (and the line, for syntax errors) when
// a file is missing or malformed, or a required column or key is absent.
// A CSV file as pandas.read_csv sees the annotation files: the first record is the header; fields
// may be quoted ("a, b" keeps its comma, "" inside quotes is one quote, a quoted field may span
// lines); blank lines are skipped; \r\n and a UTF-8 byte-order mark are accepted.
struct CsvTable {
  std::string path;                             // for error messages
  std::vector<std::string> header;              // column names
  std::vector<std::vector<std::string>> rows;   // [rows][header.size()]
  std::vector<int> row_lines;                   // 1-based line on which each row starts
  // Index of column `name`; throws cma::Error naming the file, the column and the header found.
  int column(const std::string& name) const;
};
// Throws cma::Error naming the file and line for an unterminated quote, text after a closing
// quote, or a row whose field count differs from the header's.
CsvTable read_csv(const std::string& path);

// Sorted names (not paths) of the image files (.jpg .jpeg .png .bmp .webp, any case) in `folder`.
// Sorted by bytes, as Python's list.sort() orders listdir()'s names. Hidden files (leading '.',
// such as macOS "._x.jpg" companions) are skipped; the reference would try to decode them. Empty
// when the folder is missing or not a folder.
std::vector<std::string> list_frame_files(const std::string& folder);

// features_path/<video_id>.mp4 (a folder of frames, despite the name).
std::string frame_folder(const DataOptions& o, const std::string& video_id);

// A video's frames under features_path, wherever a data set keeps them: the folder <id>.mp4/
// (MSR-VTT's, frame_folder), else the folder <id>/, else the image file <id> itself, a one-frame
// clip (the image-text sets). `where`: the folder or file found, or "" when there is none;
// `paths`: the frame files, sorted as list_frame_files sorts them.
struct FrameFiles {
  std::string where;
  std::vector<std::string> paths;
};
FrameFiles find_frame_files(const DataOptions& o, const std::string& video_id);
// Where find_frame_files looks, for messages: "<features_path>/<id>.mp4/, <id>/ or the image <id>".
std::string frame_locations(const DataOptions& o, const std::string& video_id);

// Which of n sorted frames the reference's _get_capimage keeps for max_frames and
// slice_framepos. n <= max_frames: all of them (0..n-1; the caller zero-pads and masks the rest).
// n > max_frames: 0 the first max_frames, 1 the last max_frames, 2 (or any other value, as in the
// reference) floor(np.linspace(0, n-1, max_frames)). Throws cma::Error when n < 0 or
// max_frames < 1.
std::vector<int> sample_frame_indices(int n, int max_frames, int slice_framepos);

}  // namespace cma::data
