// The synthetic world (cma/data/world.h): captions true of their clips, motion visible in the
// pixels, the domain split, determinism, and a tree that read_msrvtt and list_frame_files read.
#include "cma/data/world.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cctype>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <set>

#include "cma/core/error.h"
#include "cma/data/image_header.h"
#include "cma/data/msrvtt.h"
#include "test_tmp.h"

namespace {

namespace fs = std::filesystem;
using namespace cma::data;
using cma::testing::TempDir;
using WordSet = std::set<std::string>;

// ---- An independent statement of what each attribute may be called (the spec, not the tables) --

const std::map<Colour, WordSet> kColourTruth = {
    {Colour::Red, {"red", "scarlet", "crimson"}},       {Colour::Green, {"green", "emerald", "jade"}},
    {Colour::Blue, {"blue", "azure", "cobalt"}},        {Colour::Yellow, {"yellow", "golden", "lemon"}},
    {Colour::Purple, {"purple", "violet", "plum"}},     {Colour::Orange, {"orange", "tangerine", "amber"}},
    {Colour::Cyan, {"cyan", "turquoise", "aqua"}},      {Colour::Pink, {"pink", "rose", "fuchsia"}}};
const std::map<Shape, WordSet> kShapeTruth = {
    {Shape::Circle, {"circle", "disc"}}, {Shape::Square, {"square", "block"}}, {Shape::Triangle, {"triangle"}},
    {Shape::Star, {"star"}},             {Shape::Diamond, {"diamond", "rhombus"}}, {Shape::Cross, {"cross", "plus"}}};
const std::map<ObjectSize, WordSet> kSizeTruth = {{ObjectSize::Small, {"small", "little", "tiny"}},
                                                  {ObjectSize::Big, {"big", "large"}}};
const std::map<Motion, WordSet> kMotionTruth = {
    {Motion::Left, {"left", "leftwards"}},
    {Motion::Right, {"right", "rightwards"}},
    {Motion::Up, {"up", "upwards", "top"}},
    {Motion::Down, {"down", "downwards", "bottom"}},
    {Motion::Growing, {"grows", "bigger", "expands", "swells", "inflates", "balloons"}},
    {Motion::Shrinking, {"shrinks", "smaller", "contracts", "dwindles", "deflates", "diminishes"}},
    {Motion::Circling, {"round", "loop", "circles", "orbits", "loops", "revolves", "ring"}}};
const std::map<Backdrop, WordSet> kBackdropTruth = {{Backdrop::Plain, {"plain", "solid"}},
                                                    {Backdrop::Stripes, {"striped", "stripes"}},
                                                    {Backdrop::Noise, {"noisy", "noise", "grainy"}},
                                                    {Backdrop::Checkered, {"checkered", "checkerboard", "chequered"}},
                                                    {Backdrop::Gradient, {"gradient", "fading"}}};
// Words only one domain may use.
const WordSet kOnlyA = {"scarlet", "emerald", "azure", "golden", "violet", "tangerine", "turquoise", "rose", "moves",
                        "slides", "goes", "grows", "bigger", "expands", "shrinks", "smaller", "contracts", "round",
                        "loop", "circles", "plain", "solid", "striped", "stripes", "noisy", "noise", "grainy"};
const WordSet kOnlyB = {"crimson", "jade",   "cobalt",   "lemon",     "plum",    "amber",      "aqua",
                        "fuchsia", "drifts", "glides",   "travels",   "swells",  "inflates",   "balloons",
                        "dwindles", "deflates", "diminishes", "orbits", "loops", "revolves",  "ring",
                        "checkered", "checkerboard", "chequered", "gradient", "fading"};

WordSet words_of(const std::string& caption) {
  WordSet out;
  std::string w;
  for (char c : caption + " ") {
    if (std::isalpha(static_cast<unsigned char>(c))) {
      w += c;
    } else if (!w.empty()) {
      out.insert(w);
      w.clear();
    }
  }
  return out;
}

bool mentions(const WordSet& words, const WordSet& any_of) {
  return std::any_of(any_of.begin(), any_of.end(), [&](const std::string& w) { return words.count(w) > 0; });
}

// Every caption names each object's colour, shape and motion, and no colour, shape, size, motion
// or backdrop the clip does not have.
template <class K>
void expect_only_present(const WordSet& words, const std::map<K, WordSet>& truth, const std::set<K>& present,
                         const std::string& what, const std::string& caption) {
  for (const auto& [value, names] : truth)
    if (!present.count(value)) {
      EXPECT_FALSE(mentions(words, names)) << what << " not in the clip: " << caption;
    }
}

void expect_true_caption(const WorldClip& clip, const std::string& caption) {
  const WordSet words = words_of(caption);
  std::set<Colour> colours;
  std::set<Shape> shapes;
  std::set<ObjectSize> sizes;
  std::set<Motion> motions;
  for (const WorldObject& o : clip.objects) {
    EXPECT_TRUE(mentions(words, kColourTruth.at(o.colour))) << colour_name(o.colour) << ": " << caption;
    EXPECT_TRUE(mentions(words, kShapeTruth.at(o.shape))) << shape_name(o.shape) << ": " << caption;
    EXPECT_TRUE(mentions(words, kMotionTruth.at(o.motion))) << motion_name(o.motion) << ": " << caption;
    colours.insert(o.colour);
    shapes.insert(o.shape);
    sizes.insert(o.size);
    motions.insert(o.motion);
  }
  expect_only_present(words, kColourTruth, colours, "colour", caption);
  expect_only_present(words, kShapeTruth, shapes, "shape", caption);
  expect_only_present(words, kSizeTruth, sizes, "size", caption);
  expect_only_present(words, kMotionTruth, motions, "motion", caption);
  expect_only_present(words, kBackdropTruth, std::set<Backdrop>{clip.background.kind}, "backdrop", caption);
  const WordSet& foreign = clip.domain == WorldDomain::A ? kOnlyB : kOnlyA;
  EXPECT_FALSE(mentions(words, foreign)) << "a word of the other domain in " << clip.video_id << ": " << caption;
}

WorldOptions small_options(WorldDomain d, uint64_t seed = 3) {
  WorldOptions o;
  o.domain = d;
  o.train_clips = 6;
  o.test_clips = 3;
  o.captions_per_clip = 4;
  o.frames = 3;
  o.width = 64;
  o.height = 48;
  o.seed = seed;
  o.two_object_percent = 50;
  return o;
}

std::string read_bytes(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  return std::string((std::istreambuf_iterator<char>(in)), {});
}

// Relative path -> bytes of every file under `root`.
std::map<std::string, std::string> tree_files(const std::string& root) {
  std::map<std::string, std::string> files;
  for (const auto& e : fs::recursive_directory_iterator(root))
    if (e.is_regular_file()) files[fs::relative(e.path(), root).string()] = read_bytes(e.path());
  return files;
}

// ---- Pixels -------------------------------------------------------------------------------------

struct Blob {
  double x = 0, y = 0;
  long n = 0;
};

// Centroid of the pixels within `tol` (L1 over R, G, B) of colour c's paint.
Blob blob(const Image& img, Colour c, int tol = 60) {
  const auto rgb = colour_rgb(c);
  Blob b;
  for (int y = 0; y < img.height; ++y) {
    for (int x = 0; x < img.width; ++x) {
      const uint8_t* p = img.pixels.data() + (static_cast<size_t>(y) * img.width + x) * img.channels;
      if (std::abs(p[0] - rgb[0]) + std::abs(p[1] - rgb[1]) + std::abs(p[2] - rgb[2]) > tol) continue;
      b.x += x;
      b.y += y;
      ++b.n;
    }
  }
  if (b.n > 0) b.x /= b.n, b.y /= b.n;
  return b;
}

// Checks that the object of colour c does what `m` says between two frames.
void expect_motion(Motion m, const Blob& first, const Blob& last, const std::string& where) {
  ASSERT_GT(first.n, 10) << where;
  ASSERT_GT(last.n, 10) << where;
  const double dx = last.x - first.x, dy = last.y - first.y;
  switch (m) {
    case Motion::Left: EXPECT_TRUE(dx < -15 && std::abs(dy) < 2) << where << " dx " << dx << " dy " << dy; break;
    case Motion::Right: EXPECT_TRUE(dx > 15 && std::abs(dy) < 2) << where << " dx " << dx << " dy " << dy; break;
    case Motion::Up: EXPECT_TRUE(dy < -15 && std::abs(dx) < 2) << where << " dx " << dx << " dy " << dy; break;
    case Motion::Down: EXPECT_TRUE(dy > 15 && std::abs(dx) < 2) << where << " dx " << dx << " dy " << dy; break;
    case Motion::Growing: EXPECT_GT(last.n, 3 * first.n) << where; break;
    case Motion::Shrinking: EXPECT_LT(3 * last.n, first.n) << where; break;
    case Motion::Circling: break;  // WorldMotion.CirclingGoesRound
  }
}

WorldClip one_clip(std::vector<WorldObject> objects, int frames) {
  WorldClip c;
  c.video_id = "hand";
  c.width = 160;
  c.height = 96;
  c.frames = frames;
  c.background.kind = Backdrop::Noise;
  c.background.noise_seed = 99;
  c.objects = std::move(objects);
  return c;
}

TEST(WorldMotion, CentroidMovesInTheStatedDirection) {
  for (int m = 0; m < kNumMotions; ++m) {
    for (int s = 0; s < 2; ++s) {
      for (int objects = 1; objects <= 2; ++objects) {
        WorldObject red{Shape(m % kNumShapes), Colour::Red, ObjectSize(s), Motion(m), 300, 700};
        WorldObject blue{Shape::Square, Colour::Blue, ObjectSize::Big, Motion::Growing, 500, 500};
        const WorldClip c = objects == 1 ? one_clip({red}, 6) : one_clip({red, blue}, 6);
        const std::string where = std::string(motion_name(Motion(m))) + " " + size_name(ObjectSize(s)) + " with " +
                                  std::to_string(objects) + " object(s)";
        expect_motion(Motion(m), blob(render_world_frame(c, 0), Colour::Red),
                      blob(render_world_frame(c, 5), Colour::Red), where);
        if (objects == 2) {  // each object keeps to its half of the frame
          for (int f = 0; f < 6; ++f) {
            EXPECT_LT(blob(render_world_frame(c, f), Colour::Red).x, 80) << where << " frame " << f;
            EXPECT_GT(blob(render_world_frame(c, f), Colour::Blue).x, 80) << where << " frame " << f;
          }
        }
      }
    }
  }
}

TEST(WorldMotion, CirclingGoesRound) {
  const WorldClip c = one_clip({{Shape::Star, Colour::Pink, ObjectSize::Small, Motion::Circling, 500, 500}}, 8);
  std::vector<Blob> path;
  Blob centre;
  for (int f = 0; f < 8; ++f) {
    path.push_back(blob(render_world_frame(c, f), Colour::Pink));
    centre.x += path.back().x / 8;
    centre.y += path.back().y / 8;
  }
  std::vector<double> radii;
  for (const Blob& b : path) radii.push_back(std::hypot(b.x - centre.x, b.y - centre.y));
  EXPECT_GT(*std::min_element(radii.begin(), radii.end()), 10);
  EXPECT_LT(*std::max_element(radii.begin(), radii.end()) - *std::min_element(radii.begin(), radii.end()), 3);
  EXPECT_GT(std::hypot(path[4].x - path[0].x, path[4].y - path[0].y), 20);  // half a turn: across
}

TEST(WorldMotion, EveryShapeIsDrawnWithinItsSize) {
  for (int s = 0; s < kNumShapes; ++s) {
    const WorldClip c = one_clip({{Shape(s), Colour::Green, ObjectSize::Big, Motion::Left, 500, 500}}, 2);
    const Blob b = blob(render_world_frame(c, 0), Colour::Green, 0);
    const int r = 96 * 140 / 1000;
    EXPECT_GT(b.n, r * r / 2) << shape_name(Shape(s));  // clearly a shape, not a dot (a star: 1.1 r^2)
    EXPECT_LE(b.n, 4 * (r + 1) * (r + 1)) << shape_name(Shape(s));  // within its bounding square
  }
}

// ---- Captions and domains ---------------------------------------------------------------------------

TEST(WorldCaptions, EveryCaptionIsTrueOfItsClip) {
  for (WorldDomain d : {WorldDomain::A, WorldDomain::B}) {
    WorldOptions o = small_options(d);
    o.captions_per_clip = 10;
    WordSet seen;
    for (int i = 0; i < 300; ++i) {
      const WorldClip clip = make_world_clip(o, WorldSplit::Train, i);
      ASSERT_EQ(clip.captions.size(), 10u);
      EXPECT_EQ(std::set<std::string>(clip.captions.begin(), clip.captions.end()).size(), 10u) << clip.video_id;
      for (const std::string& caption : clip.captions) {
        expect_true_caption(clip, caption);
        const WordSet w = words_of(caption);
        seen.insert(w.begin(), w.end());
      }
    }
    // The domain's own synonyms do occur (the shift is real, not only allowed).
    const WordSet& own = d == WorldDomain::A ? kOnlyA : kOnlyB;
    for (const std::string& w : own) {
      EXPECT_TRUE(seen.count(w)) << "'" << w << "' never used in domain " << domain_name(d);
    }
  }
}

TEST(WorldDomainSplit, ShapeColourPairsAndBackdropsAreDisjoint) {
  int a = 0, b = 0;
  for (int s = 0; s < kNumShapes; ++s) {
    for (int c = 0; c < kNumColours; ++c) {
      const bool in_a = pair_in_domain(Shape(s), Colour(c), WorldDomain::A);
      EXPECT_NE(in_a, pair_in_domain(Shape(s), Colour(c), WorldDomain::B))
          << shape_name(Shape(s)) << " " << colour_name(Colour(c));
      (in_a ? a : b) += 1;
    }
  }
  EXPECT_EQ(a, 36);
  EXPECT_EQ(b, 12);
  for (Backdrop k : domain_backdrops(WorldDomain::B)) {
    const auto& in_a = domain_backdrops(WorldDomain::A);
    EXPECT_EQ(std::find(in_a.begin(), in_a.end(), k), in_a.end()) << backdrop_name(k);
  }
  // Generated clips keep to their domain; every shape and colour shows up in both.
  for (WorldDomain d : {WorldDomain::A, WorldDomain::B}) {
    std::set<Shape> shapes;
    std::set<Colour> colours;
    const WorldOptions o = small_options(d);
    for (int i = 0; i < 400; ++i) {
      const WorldClip clip = make_world_clip(o, WorldSplit::Test, i);
      const auto& allowed = domain_backdrops(d);
      EXPECT_NE(std::find(allowed.begin(), allowed.end(), clip.background.kind), allowed.end()) << clip.video_id;
      ASSERT_TRUE(clip.objects.size() == 1 || clip.objects.size() == 2) << clip.video_id;
      if (clip.objects.size() == 2) {
        EXPECT_NE(clip.objects[0].colour, clip.objects[1].colour) << clip.video_id;
      }
      for (const WorldObject& obj : clip.objects) {
        EXPECT_TRUE(pair_in_domain(obj.shape, obj.colour, d)) << clip.video_id;
        shapes.insert(obj.shape);
        colours.insert(obj.colour);
      }
    }
    EXPECT_EQ(shapes.size(), static_cast<size_t>(kNumShapes)) << domain_name(d);
    EXPECT_EQ(colours.size(), static_cast<size_t>(kNumColours)) << domain_name(d);
  }
}

TEST(WorldOptionsValidate, ValidateNamesTheFlag) {
  auto message = [](WorldOptions o) -> std::string {
    try {
      o.validate();
    } catch (const cma::Error& e) {
      return e.what();
    }
    return "";
  };
  WorldOptions o;
  EXPECT_EQ(message(o), "");
  o.frames = 1;
  EXPECT_NE(message(o).find("--frames 1"), std::string::npos) << message(o);
  o = WorldOptions{};
  o.width = 16;
  EXPECT_NE(message(o).find("--width 16"), std::string::npos) << message(o);
  o = WorldOptions{};
  o.two_object_percent = 101;
  EXPECT_NE(message(o).find("--two_object_percent 101"), std::string::npos) << message(o);
}

// ---- The tree on disk ----------------------------------------------------------------------------------

TEST(WorldDeterminism, SameSeedSameBytesOtherSeedDiffers) {
  TempDir a("world"), b("world"), c("world");
  write_world(a.path(), small_options(WorldDomain::A, 11));
  write_world(b.path(), small_options(WorldDomain::A, 11));
  write_world(c.path(), small_options(WorldDomain::A, 12));
  const auto fa = tree_files(a.path()), fb = tree_files(b.path()), fc = tree_files(c.path());
  ASSERT_EQ(fa.size(), 4u + 9u * 3u);  // four annotation files, 9 clips x 3 frames
  ASSERT_EQ(fa.size(), fb.size());
  for (const auto& [rel, bytes] : fa) {
    ASSERT_TRUE(fb.count(rel)) << rel;
    EXPECT_EQ(bytes, fb.at(rel)) << rel << " differs between two runs with one seed";
  }
  int differing = 0;
  for (const auto& [rel, bytes] : fa) differing += fc.count(rel) == 0 || fc.at(rel) != bytes;
  EXPECT_NE(fa.at("anns/MSRVTT_data.json"), fc.at("anns/MSRVTT_data.json"));
  EXPECT_GT(differing, static_cast<int>(fa.size()) * 3 / 4) << "another seed should change nearly every file";

  // A clip depends on (seed, domain, split, index) only: more clips leave the first ones alone.
  WorldOptions more = small_options(WorldDomain::A, 11);
  more.train_clips = 40;
  const WorldClip x = make_world_clip(small_options(WorldDomain::A, 11), WorldSplit::Train, 2);
  const WorldClip y = make_world_clip(more, WorldSplit::Train, 2);
  EXPECT_EQ(x.captions, y.captions);
  EXPECT_EQ(render_world_frame(x, 1).pixels, render_world_frame(y, 1).pixels);
}

TEST(WorldTree, ReadMsrvttReadsTheWrittenTree) {
  TempDir dir("world");
  const WorldOptions o = small_options(WorldDomain::B);
  const std::vector<WorldClip> clips = write_world(dir.path(), o);
  ASSERT_EQ(clips.size(), 9u);
  DataOptions data;
  data.anno_path = world_anno_path(dir.path());
  data.features_path = world_features_path(dir.path());
  const Splits s = read_msrvtt(data);
  ASSERT_EQ(s.train.size(), 6u * 4u);
  for (size_t i = 0; i < s.train.size(); ++i) {
    EXPECT_EQ(s.train[i].video_id, clips[i / 4].video_id);
    EXPECT_EQ(s.train[i].caption, clips[i / 4].captions[i % 4]);
  }
  ASSERT_EQ(s.test.size(), 3u);
  for (size_t i = 0; i < 3; ++i) {
    EXPECT_EQ(s.test[i].video_id, "b_test000" + std::to_string(i));
    EXPECT_EQ(s.test[i].caption, clips[6 + i].captions[0]);  // commas survive the CSV's quoting
  }
  EXPECT_EQ(clips[0].video_id, "b_train0000");

  const std::string ext = world_frame_ext(o.frame_format);
  for (const WorldClip& c : clips) {
    EXPECT_EQ(list_frame_files(frame_folder(data, c.video_id)),
              (std::vector<std::string>{"00000" + ext, "00001" + ext, "00002" + ext}))
        << c.video_id;
  }
  const std::string frame = read_bytes(frame_folder(data, clips[0].video_id) + "/00002" + ext);
  const ImageHeader h =
      check_image_header(reinterpret_cast<const uint8_t*>(frame.data()), frame.size(), "frame");
  EXPECT_EQ(h.width, 64);
  EXPECT_EQ(h.height, 48);
  EXPECT_EQ(h.format, ext == ".jpg" ? ImageHeader::Format::Jpeg : ImageHeader::Format::Bmp);

  const auto meta = nlohmann::json::parse(read_bytes(fs::path(data.anno_path) / "world_clips.json"));
  EXPECT_EQ(meta.at("format"), "cma.world_clips");
  ASSERT_EQ(meta.at("clips").size(), 9u);
  EXPECT_EQ(meta.at("clips")[0].at("objects")[0].at("shape"), shape_name(clips[0].objects[0].shape));
}

// A BMP frame holds exactly the drawn pixels (read here by hand: 54-byte header, bottom-up BGR rows).
TEST(WorldTree, BmpFramesHoldTheDrawnPixels) {
  TempDir dir("world");
  WorldOptions o = small_options(WorldDomain::A);
  o.width = 50;  // rows of 150 bytes: padded to 152
  o.frame_format = FrameFormat::Bmp;
  const auto clips = write_world(dir.path(), o);
  const std::string bmp = read_bytes(world_features_path(dir.path()) + "/" + clips[1].video_id + ".mp4/00001.bmp");
  const Image want = render_world_frame(clips[1], 1);
  ASSERT_EQ(bmp.size(), 54u + 152u * 48u);
  const auto* d = reinterpret_cast<const uint8_t*>(bmp.data());
  for (int y = 0; y < 48; ++y)
    for (int x = 0; x < 50; ++x)
      for (int ch = 0; ch < 3; ++ch)
        ASSERT_EQ(d[54 + (47 - y) * 152 + x * 3 + (2 - ch)], want.pixels[(y * 50 + x) * 3 + ch])
            << "pixel " << x << "," << y << " channel " << ch;
}

#if CMA_HAVE_SYNTHETIC_FRAMES  // OpenCV or TurboJPEG decodes them
// The JPEG frames decode to the drawn frames (within JPEG's loss) and show each clip's motion.
TEST(WorldTree, JpegFramesShowTheMotion) {
  if (!world_jpeg_available()) GTEST_SKIP() << "built without TurboJPEG: the world writes BMP frames";
  TempDir dir("world");
  WorldOptions o = small_options(WorldDomain::A, 5);
  o.train_clips = 24;
  o.width = 192;  // a small shrunk star stays a few dozen pixels after 4:2:0 chroma
  o.height = 144;
  const auto clips = write_world(dir.path(), o);
  for (const WorldClip& c : clips) {
    const std::string folder = world_features_path(dir.path()) + "/" + c.video_id + ".mp4/";
    const Image first = decode_image(folder + "00000.jpg"), last = decode_image(folder + "00002.jpg");
    const Image drawn = render_world_frame(c, 0);
    ASSERT_EQ(first.pixels.size(), drawn.pixels.size()) << c.video_id;
    double err = 0;
    for (size_t i = 0; i < drawn.pixels.size(); ++i) err += std::abs(first.pixels[i] - drawn.pixels[i]);
    EXPECT_LT(err / drawn.pixels.size(), 8.0) << c.video_id;
    for (const WorldObject& obj : c.objects) {
      if (obj.motion == Motion::Circling) continue;
      expect_motion(obj.motion, blob(first, obj.colour), blob(last, obj.colour), c.video_id);
    }
  }
}
#else
TEST(WorldTree, JpegFramesShowTheMotion) { GTEST_SKIP() << "built without OpenCV and TurboJPEG: no decoder to read the frames back"; }
#endif

}  // namespace
