// Writes a world's tree in MSR-VTT's layout (world.h): the annotation files read_msrvtt reads, a
// metadata file of each clip's attributes, and one folder of frames per clip.
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "cma/core/atomic_file.h"
#include "cma/core/error.h"
#include "cma/data/world.h"
#include "image_encode.h"

namespace cma::data {
namespace {

namespace fs = std::filesystem;

// Quotes a CSV field when it holds a comma, a quote or a line break (quotes doubled), as pandas
// and read_csv expect. Captions such as "on a striped background, a red disc ..." need it.
std::string csv_field(const std::string& s) {
  if (s.find_first_of(",\"\r\n") == std::string::npos) return s;
  std::string out = "\"";
  for (char c : s) out += c == '"' ? std::string("\"\"") : std::string(1, c);
  return out + "\"";
}

nlohmann::json options_json(const WorldOptions& o) {
  return {{"format", "cma.world"},
          {"version", 1},
          {"domain", domain_name(o.domain)},
          {"seed", o.seed},
          {"train_clips", o.train_clips},
          {"test_clips", o.test_clips},
          {"captions_per_clip", o.captions_per_clip},
          {"frames", o.frames},
          {"width", o.width},
          {"height", o.height},
          {"two_object_percent", o.two_object_percent}};
}

// All captions of every clip, clip by clip; the training pairs are the training clips' captions.
void write_data_json(const fs::path& anns, const WorldOptions& o, const std::vector<WorldClip>& clips) {
  nlohmann::json sentences = nlohmann::json::array();
  for (const WorldClip& c : clips)
    for (const std::string& caption : c.captions)
      sentences.push_back({{"video_id", c.video_id}, {"caption", caption}, {"sen_id", sentences.size()}});
  const nlohmann::json data = {{"info", options_json(o)}, {"sentences", sentences}};
  write_text_atomic((anns / "MSRVTT_data.json").string(), data.dump(1) + "\n");
}

void write_split_csvs(const fs::path& anns, const std::vector<WorldClip>& clips) {
  std::string train = "video_id\n", test = "key,vid_key,video_id,sentence\n";
  int t = 0;
  for (const WorldClip& c : clips) {
    if (c.split == WorldSplit::Train) {
      train += c.video_id + "\n";
    } else {
      // One caption per test clip, as the 1k-A split: a square caption x video matrix.
      test += "ret" + std::to_string(t) + ",msr" + std::to_string(t) + "," + c.video_id + "," +
              csv_field(c.captions.front()) + "\n";
      ++t;
    }
  }
  write_text_atomic((anns / "MSRVTT_train.9k.csv").string(), train);
  write_text_atomic((anns / "MSRVTT_JSFUSION_test.csv").string(), test);
}

// What each clip shows, so that `cma demo` (and a person) can tell what a caption should match.
void write_clips_json(const fs::path& anns, const std::vector<WorldClip>& clips) {
  nlohmann::json list = nlohmann::json::array();
  for (const WorldClip& c : clips) {
    nlohmann::json objects = nlohmann::json::array();
    for (const WorldObject& o : c.objects)
      objects.push_back({{"shape", shape_name(o.shape)},
                         {"colour", colour_name(o.colour)},
                         {"size", size_name(o.size)},
                         {"motion", motion_name(o.motion)}});
    list.push_back({{"video_id", c.video_id},
                    {"split", c.split == WorldSplit::Train ? "train" : "test"},
                    {"backdrop", backdrop_name(c.background.kind)},
                    {"objects", objects}});
  }
  const nlohmann::json doc = {{"format", "cma.world_clips"}, {"version", 1}, {"clips", list}};
  write_text_atomic((anns / "world_clips.json").string(), doc.dump(1) + "\n");
}

void write_bytes(const fs::path& path, const std::vector<uint8_t>& bytes) {
  std::ofstream out(path, std::ios::binary);
  out.write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
  require(static_cast<bool>(out), "cannot write frame " + path.string() + " (disk full or no permission?)");
}

// Frames are plain writes, not atomic ones: an fsync per frame would dominate the run, and a
// half-written tree is simply written again.
void write_frames(const fs::path& frames_root, const WorldClip& c, const WorldOptions& o) {
  const fs::path folder = frames_root / (c.video_id + ".mp4");
  fs::remove_all(folder);  // no stale frames from an earlier, longer clip
  fs::create_directories(folder);
  const bool jpeg = world_frame_ext(o.frame_format) == ".jpg";
  for (int f = 0; f < c.frames; ++f) {
    char name[16];
    std::snprintf(name, sizeof(name), "%05d", f);
    const fs::path path = folder / (name + world_frame_ext(o.frame_format));
    const Image img = render_world_frame(c, f);
    write_bytes(path, jpeg ? encode_jpeg(img, o.jpeg_quality, path.string()) : encode_bmp(img, path.string()));
  }
}

std::vector<WorldClip> write_tree(const std::string& root, const WorldOptions& o) {
  std::vector<WorldClip> clips;
  clips.reserve(static_cast<size_t>(o.train_clips + o.test_clips));
  for (int i = 0; i < o.train_clips; ++i) clips.push_back(make_world_clip(o, WorldSplit::Train, i));
  for (int i = 0; i < o.test_clips; ++i) clips.push_back(make_world_clip(o, WorldSplit::Test, i));

  const fs::path anns = world_anno_path(root), frames = world_features_path(root);
  fs::create_directories(anns);
  fs::create_directories(frames);
  // world_clips.json is written last and removed first: a tree that has it is complete (world_present).
  fs::remove(anns / "world_clips.json");
  for (const WorldClip& c : clips) write_frames(frames, c, o);
  write_data_json(anns, o, clips);
  write_split_csvs(anns, clips);
  write_clips_json(anns, clips);
  return clips;
}

}  // namespace

bool world_present(const std::string& root, const WorldOptions& o) {
  const fs::path anns = world_anno_path(root);
  if (!fs::exists(anns / "world_clips.json")) return false;
  try {
    const auto data = nlohmann::json::parse(read_text((anns / "MSRVTT_data.json").string()));
    return data.contains("info") && data["info"] == options_json(o);
  } catch (const std::exception&) {
    return false;  // unreadable or not ours: written again
  }
}

bool world_jpeg_available() { return jpeg_encoder_available(); }

std::string world_frame_ext(FrameFormat f) {
  if (f == FrameFormat::Bmp || (f == FrameFormat::Auto && !jpeg_encoder_available())) return ".bmp";
  return ".jpg";
}

std::vector<WorldClip> write_world(const std::string& root, const WorldOptions& o) {
  o.validate();
  try {
    return write_tree(root, o);
  } catch (const fs::filesystem_error& e) {
    throw Error("cannot write the synthetic world under " + root + ": " + e.what());
  }
}

}  // namespace cma::data
