#include "cma/data/msrvtt.h"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <unordered_map>
#include <unordered_set>

#include "cma/core/error.h"
#include "cma/core/log.h"
#include "cma/data/annotation_files.h"

namespace cma::data {
namespace {

namespace fs = std::filesystem;

const char* kAnnoHint =
    " (--anno_path must be the folder holding MSRVTT_data.json, MSRVTT_train.9k.csv and "
    "MSRVTT_JSFUSION_test.csv)";

std::string read_whole_file(const std::string& path) {
  return read_text_file(path, "MSR-VTT annotation file", kAnnoHint);
}

// Splits CSV text into records. Tracks physical lines so that errors and rows can name them.
class CsvReader {
 public:
  CsvReader(const std::string& text, const std::string& path) : s_(text), path_(path) {
    if (s_.compare(0, 3, "\xEF\xBB\xBF") == 0) pos_ = 3;  // UTF-8 byte-order mark
  }

  // Reads the next non-blank record into `fields`; false at the end of the text.
  bool next(std::vector<std::string>& fields, int& start_line) {
    while (pos_ < s_.size()) {
      start_line = line_;
      if (skip_blank_line()) continue;
      fields.clear();
      bool more = true;
      while (more) more = read_field(fields);
      return true;
    }
    return false;
  }

 private:
  bool at_line_end() const {
    return pos_ >= s_.size() || s_[pos_] == '\n' || (s_[pos_] == '\r' && (pos_ + 1 >= s_.size() || s_[pos_ + 1] == '\n'));
  }
  void consume_line_end() {
    if (pos_ < s_.size() && s_[pos_] == '\r') ++pos_;
    if (pos_ < s_.size() && s_[pos_] == '\n') ++pos_, ++line_;
  }
  bool skip_blank_line() {
    if (!at_line_end()) return false;
    consume_line_end();
    return true;
  }
  [[noreturn]] void fail(int line, const std::string& what) const {
    throw Error(path_ + ":" + std::to_string(line) + ": malformed CSV: " + what);
  }

  // Appends one field; returns true when another field of the same record follows.
  bool read_field(std::vector<std::string>& fields) {
    std::string field;
    if (pos_ < s_.size() && s_[pos_] == '"') {
      const int open_line = line_;
      ++pos_;
      for (;;) {
        if (pos_ >= s_.size()) fail(open_line, "quoted field opened on this line is never closed");
        const char c = s_[pos_++];
        if (c == '"') {
          if (pos_ < s_.size() && s_[pos_] == '"') {
            field.push_back('"');  // "" inside quotes is one quote
            ++pos_;
            continue;
          }
          break;
        }
        if (c == '\n') ++line_;
        field.push_back(c);
      }
      if (!at_line_end() && s_[pos_] != ',')
        fail(line_, "unexpected text after the closing quote of field " + std::to_string(fields.size() + 1) +
                        " (a quote inside a quoted field must be doubled: \"\")");
    } else {
      while (!at_line_end() && s_[pos_] != ',') field.push_back(s_[pos_++]);
    }
    fields.push_back(std::move(field));
    if (pos_ < s_.size() && s_[pos_] == ',') {
      ++pos_;
      return true;
    }
    consume_line_end();
    return false;
  }

  const std::string& s_;
  const std::string& path_;
  size_t pos_ = 0;
  int line_ = 1;
};

std::string json_string(const nlohmann::json& item, const char* key, const std::string& path, size_t index) {
  const auto it = item.find(key);
  require(it != item.end() && it->is_string(), path + ": sentences[" + std::to_string(index) +
                                                   "] has no string \"" + key + "\" (expected {\"video_id\": "
                                                   "..., \"caption\": ...})");
  return it->get<std::string>();
}

// The reference keeps MSRVTT_data.json's sentences whose video is in the training csv, in JSON order.
std::vector<Pair> training_pairs(const std::string& json_path, const std::unordered_set<std::string>& train_videos) {
  const nlohmann::json data = parse_json_file(json_path, "MSR-VTT annotation file", kAnnoHint);
  require(data.is_object() && data.contains("sentences") && data["sentences"].is_array(),
          json_path + ": expected an object with a \"sentences\" array (MSR-VTT's MSRVTT_data.json)");
  const nlohmann::json& sentences = data["sentences"];
  std::vector<Pair> pairs;
  std::unordered_set<std::string> seen;
  for (size_t i = 0; i < sentences.size(); ++i) {
    require(sentences[i].is_object(), json_path + ": sentences[" + std::to_string(i) + "] is not an object");
    std::string video_id = json_string(sentences[i], "video_id", json_path, i);
    if (train_videos.count(video_id) == 0) continue;
    seen.insert(video_id);
    pairs.push_back({std::move(video_id), json_string(sentences[i], "caption", json_path, i)});
  }
  if (seen.size() < train_videos.size())
    log::warn("data", "{} of {} training videos have no caption in {}", train_videos.size() - seen.size(),
              train_videos.size(), json_path);
  return pairs;
}

bool is_image_name(const std::string& name) {
  static const char* kExts[] = {".jpg", ".jpeg", ".png", ".bmp", ".webp"};
  const size_t dot = name.rfind('.');
  if (dot == std::string::npos || name.empty() || name[0] == '.') return false;
  std::string ext = name.substr(dot);
  std::transform(ext.begin(), ext.end(), ext.begin(), [](unsigned char c) { return std::tolower(c); });
  return std::find(std::begin(kExts), std::end(kExts), ext) != std::end(kExts);
}

}  // namespace

int CsvTable::column(const std::string& name) const {
  const auto it = std::find(header.begin(), header.end(), name);
  if (it != header.end()) return static_cast<int>(it - header.begin());
  std::string found;
  for (const auto& h : header) found += (found.empty() ? "" : ", ") + h;
  throw Error(path + ": no column \"" + name + "\" in the header (found: " + found + ")");
}

CsvTable read_csv(const std::string& path) {
  const std::string text = read_whole_file(path);
  CsvReader reader(text, path);
  CsvTable table;
  table.path = path;
  int line = 1;
  require(reader.next(table.header, line), path + ": empty CSV file (expected a header line)");
  std::vector<std::string> fields;
  while (reader.next(fields, line)) {
    require(fields.size() == table.header.size(),
            path + ":" + std::to_string(line) + ": malformed CSV: expected " + std::to_string(table.header.size()) +
                " fields as in the header, found " + std::to_string(fields.size()));
    table.rows.push_back(fields);
    table.row_lines.push_back(line);
  }
  return table;
}

Splits read_msrvtt(const DataOptions& o) {
  const fs::path anno(o.anno_path);
  const std::string train_csv = (anno / (o.train7k ? "MSRVTT_train.7k.csv" : "MSRVTT_train.9k.csv")).string();
  const std::string test_csv = (anno / "MSRVTT_JSFUSION_test.csv").string();
  const std::string json_path = (anno / "MSRVTT_data.json").string();

  const CsvTable train_table = read_csv(train_csv);
  const int train_col = train_table.column("video_id");
  std::unordered_set<std::string> train_videos;
  for (const auto& row : train_table.rows) train_videos.insert(row[train_col]);

  const CsvTable test_table = read_csv(test_csv);
  const int test_video_col = test_table.column("video_id");
  const int test_sentence_col = test_table.column("sentence");

  Splits splits;
  splits.train_source = train_csv + " with " + json_path;
  splits.test_source = test_csv;
  splits.train = training_pairs(json_path, train_videos);
  splits.test.reserve(test_table.rows.size());
  for (const auto& row : test_table.rows) splits.test.push_back({row[test_video_col], row[test_sentence_col]});
  return splits;
}

std::vector<std::string> list_frame_files(const std::string& folder) {
  std::vector<std::string> names;
  std::error_code ec;
  fs::directory_iterator it(folder, ec);
  if (ec) return names;
  for (const auto& entry : it) {
    std::error_code file_ec;
    if (!entry.is_regular_file(file_ec)) continue;  // follows symlinks
    std::string name = entry.path().filename().string();
    if (is_image_name(name)) names.push_back(std::move(name));
  }
  std::sort(names.begin(), names.end());  // char_traits<char> compares as unsigned bytes, like Python
  return names;
}

std::string frame_folder(const DataOptions& o, const std::string& video_id) {
  return (fs::path(o.features_path) / (video_id + ".mp4")).string();
}

FrameFiles find_frame_files(const DataOptions& o, const std::string& video_id) {
  FrameFiles f;
  std::error_code ec;
  for (const std::string& folder : {frame_folder(o, video_id), (fs::path(o.features_path) / video_id).string()}) {
    if (!fs::is_directory(folder, ec)) continue;
    f.where = folder;
    for (const auto& name : list_frame_files(folder)) f.paths.push_back(folder + "/" + name);
    return f;
  }
  const fs::path image = fs::path(o.features_path) / video_id;
  if (fs::is_regular_file(image, ec) && is_image_name(image.filename().string())) {
    f.where = image.string();
    f.paths.push_back(f.where);
  }
  return f;
}

std::string frame_locations(const DataOptions& o, const std::string& video_id) {
  return frame_folder(o, video_id) + "/, " + (fs::path(o.features_path) / video_id).string() + "/ or the image " +
         (fs::path(o.features_path) / video_id).string();
}

std::vector<int> sample_frame_indices(int n, int max_frames, int slice_framepos) {
  require(n >= 0, "sample_frame_indices: negative frame count " + std::to_string(n));
  require(max_frames >= 1, "--max_frames " + std::to_string(max_frames) + " must be at least 1");
  std::vector<int> idx;
  if (n <= max_frames) {
    for (int i = 0; i < n; ++i) idx.push_back(i);
    return idx;
  }
  if (slice_framepos == 0 || slice_framepos == 1) {
    const int first = slice_framepos == 0 ? 0 : n - max_frames;
    for (int i = 0; i < max_frames; ++i) idx.push_back(first + i);
    return idx;
  }
  // np.linspace(0, n-1, num=max_frames, dtype=int): y_i = i * step with step = (n-1)/(num-1) in
  // double, the last value set to n-1 exactly, then truncated (floor, as all values are >= 0).
  // max_frames == 1 has no step: numpy yields [0].
  if (max_frames == 1) return {0};
  const double step = static_cast<double>(n - 1) / static_cast<double>(max_frames - 1);
  for (int i = 0; i < max_frames - 1; ++i) idx.push_back(static_cast<int>(std::floor(static_cast<double>(i) * step)));
  idx.push_back(n - 1);
  return idx;
}

}  // namespace cma::data
