// The world's attributes, the domain split, clip sampling and captions (world.h). Drawing is in
// world_draw.cpp, writing the tree in world_writer.cpp.
#include "cma/data/world.h"

#include <algorithm>
#include <cstdio>
#include <random>
#include <set>
#include <tuple>

#include "cma/core/error.h"

namespace cma::data {
namespace {

using Words = std::vector<const char*>;

// splitmix64's finaliser: spreads each key component over all 64 bits before mt19937_64 sees it,
// so neighbouring indices or seeds give unrelated streams.
uint64_t mix(uint64_t x) {
  x += 0x9E3779B97F4A7C15ull;
  x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
  x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
  return x ^ (x >> 31);
}

// A value in [0, n) by modulo: the same on every standard library, unlike uniform_int_distribution.
// The bias (n / 2^64) is far below anything a test or a model could notice.
int below(std::mt19937_64& g, int n) { return static_cast<int>(g() % static_cast<uint64_t>(n)); }

template <class T>
const T& pick(std::mt19937_64& g, const std::vector<T>& v) {
  return v[below(g, static_cast<int>(v.size()))];
}

// ---- Vocabulary: the table in world.h ----------------------------------------------------------

// Each colour's second word in domain A and in domain B, in Colour order.
const char* kColourA[kNumColours] = {"scarlet", "emerald", "azure", "golden",
                                     "violet", "tangerine", "turquoise", "rose"};
const char* kColourB[kNumColours] = {"crimson", "jade", "cobalt", "lemon", "plum", "amber", "aqua", "fuchsia"};

Words colour_words(Colour c, WorldDomain d) {
  const int i = static_cast<int>(c);
  return {colour_name(c), d == WorldDomain::A ? kColourA[i] : kColourB[i]};
}

const Words& shape_words(Shape s) {
  static const std::vector<Words> w = {{"circle", "disc"},     {"square", "block"}, {"triangle"},
                                       {"star"},                {"diamond", "rhombus"}, {"cross", "plus sign"}};
  return w[static_cast<int>(s)];
}

const Words& size_words(ObjectSize s) {
  static const std::vector<Words> w = {{"small", "little", "tiny"}, {"big", "large"}};
  return w[static_cast<int>(s)];
}

// Left, Right, Up, Down.
const Words& direction_words(Motion m) {
  static const std::vector<Words> w = {{"to the left", "left", "leftwards"},
                                       {"to the right", "right", "rightwards"},
                                       {"up", "upwards", "towards the top"},
                                       {"down", "downwards", "towards the bottom"}};
  return w[static_cast<int>(m)];
}

// Whole predicates of the motions that are not translations, per domain. No phrase holds a shape
// word ("circle"), so a caption names only the shapes that are in the clip.
const Words& change_words(Motion m, WorldDomain d) {
  static const std::vector<Words> a = {{"grows", "gets bigger", "expands"},
                                       {"shrinks", "gets smaller", "contracts"},
                                       {"goes round and round", "moves in a loop", "circles around"}};
  static const std::vector<Words> b = {{"swells", "inflates", "balloons"},
                                       {"dwindles", "deflates", "diminishes"},
                                       {"orbits", "loops around", "revolves in a ring"}};
  const int i = static_cast<int>(m) - static_cast<int>(Motion::Growing);
  return d == WorldDomain::A ? a[i] : b[i];
}

const Words& translation_verbs(WorldDomain d) {
  static const Words a = {"moves", "slides", "goes"}, b = {"drifts", "glides", "travels"};
  return d == WorldDomain::A ? a : b;
}

const Words& backdrop_words(Backdrop k) {
  static const std::vector<Words> w = {
      {"on a plain background", "against a plain backdrop", "over a solid background"},
      {"on a striped background", "against stripes", "over a striped backdrop"},
      {"on a noisy background", "against grainy noise", "over a noisy backdrop"},
      {"on a checkered background", "against a checkerboard", "over a chequered backdrop"},
      {"on a gradient background", "against a fading backdrop", "over a smooth gradient"}};
  return w[static_cast<int>(k)];
}

// ---- Captions ------------------------------------------------------------------------------------

std::string with_article(const std::string& phrase) {
  const bool vowel = std::string("aeiou").find(phrase[0]) != std::string::npos;
  return (vowel ? "an " : "a ") + phrase;
}

// One object's words for one caption, each synonym drawn afresh.
struct ObjectWords {
  std::string sized;    // "big scarlet disc"
  std::string unsized;  // "scarlet disc"
  std::string pred;     // "slides to the left"
};

ObjectWords object_words(const WorldObject& o, WorldDomain d, std::mt19937_64& g) {
  ObjectWords w;
  const std::string colour = pick(g, colour_words(o.colour, d)), shape = pick(g, shape_words(o.shape));
  w.unsized = colour + " " + shape;
  w.sized = std::string(pick(g, size_words(o.size))) + " " + w.unsized;
  if (o.motion <= Motion::Down) {  // a translation: a verb and a direction, drawn separately
    w.pred = std::string(pick(g, translation_verbs(d))) + " " + pick(g, direction_words(o.motion));
  } else {
    w.pred = pick(g, change_words(o.motion, d));
  }
  return w;
}

std::string one_object_caption(const ObjectWords& w, const std::string& bg, int templ) {
  const std::string a = with_article(w.sized);
  switch (templ) {
    case 0: return a + " " + w.pred + " " + bg;
    case 1: return a + " " + w.pred;
    case 2: return bg + ", " + a + " " + w.pred;
    case 3: return "there is " + a + " that " + w.pred + " " + bg;
    case 4: return with_article(w.unsized) + " " + w.pred + " " + bg;
    case 5: return "the " + w.sized + " " + w.pred + " " + bg;
    default: return "a clip of " + a + " that " + w.pred;
  }
}
constexpr int kOneObjectTemplates = 7;

std::string two_object_caption(const ObjectWords& p, const ObjectWords& q, const std::string& bg, int templ) {
  const std::string a = with_article(p.sized), b = with_article(q.sized);
  switch (templ) {
    case 0: return a + " " + p.pred + " and " + b + " " + q.pred + " " + bg;
    case 1: return a + " " + p.pred + " while " + b + " " + q.pred;
    case 2: return bg + ", " + a + " " + p.pred + " and " + b + " " + q.pred;
    case 3: return b + " " + q.pred + " while " + a + " " + p.pred + " " + bg;
    case 4: return "two shapes " + bg + ": " + a + " that " + p.pred + " and " + b + " that " + q.pred;
    default: return with_article(p.unsized) + " " + p.pred + " and " + with_article(q.unsized) + " " + q.pred;
  }
}
constexpr int kTwoObjectTemplates = 6;

std::string one_caption(const WorldClip& clip, std::mt19937_64& g) {
  const std::string bg = pick(g, backdrop_words(clip.background.kind));
  const ObjectWords first = object_words(clip.objects[0], clip.domain, g);
  if (clip.objects.size() == 1) return one_object_caption(first, bg, below(g, kOneObjectTemplates));
  const ObjectWords second = object_words(clip.objects[1], clip.domain, g);
  return two_object_caption(first, second, bg, below(g, kTwoObjectTemplates));
}

// ---- Sampling --------------------------------------------------------------------------------------

std::vector<std::pair<Shape, Colour>> domain_pairs(WorldDomain d) {
  std::vector<std::pair<Shape, Colour>> pairs;
  for (int s = 0; s < kNumShapes; ++s)
    for (int c = 0; c < kNumColours; ++c)
      if (pair_in_domain(Shape(s), Colour(c), d)) pairs.emplace_back(Shape(s), Colour(c));
  return pairs;
}

WorldObject sample_object(std::mt19937_64& g, WorldDomain d, const std::vector<Colour>& taken) {
  std::vector<std::pair<Shape, Colour>> pairs;
  for (const auto& p : domain_pairs(d))
    if (std::find(taken.begin(), taken.end(), p.second) == taken.end()) pairs.push_back(p);
  WorldObject o;
  std::tie(o.shape, o.colour) = pick(g, pairs);
  o.size = ObjectSize(below(g, 2));
  o.motion = Motion(below(g, kNumMotions));
  o.x_permille = below(g, 1001);
  o.y_permille = below(g, 1001);
  return o;
}

// A near-grey tone: grey level `grey` with each channel tinted by at most 12, so no backdrop pixel
// comes near an object's saturated colour.
std::array<uint8_t, 3> tinted(std::mt19937_64& g, int grey) {
  std::array<uint8_t, 3> t{};
  for (auto& v : t) v = static_cast<uint8_t>(grey + below(g, 25) - 12);
  return t;
}

WorldBackground sample_background(std::mt19937_64& g, WorldDomain d) {
  WorldBackground b;
  b.kind = pick(g, domain_backdrops(d));
  const int grey = 70 + below(g, 116), contrast = 40 + below(g, 31);
  b.tone = tinted(g, grey);
  b.tone2 = tinted(g, grey >= 128 ? grey - contrast : grey + contrast);
  b.period = 10 + below(g, 19);
  b.orientation = below(g, 3);
  b.noise_seed = g();
  return b;
}

}  // namespace

const char* shape_name(Shape s) {
  static const char* n[] = {"circle", "square", "triangle", "star", "diamond", "cross"};
  return n[static_cast<int>(s)];
}
const char* colour_name(Colour c) {
  static const char* n[] = {"red", "green", "blue", "yellow", "purple", "orange", "cyan", "pink"};
  return n[static_cast<int>(c)];
}
const char* size_name(ObjectSize s) { return s == ObjectSize::Small ? "small" : "big"; }
const char* motion_name(Motion m) {
  static const char* n[] = {"left", "right", "up", "down", "growing", "shrinking", "circling"};
  return n[static_cast<int>(m)];
}
const char* backdrop_name(Backdrop b) {
  static const char* n[] = {"plain", "stripes", "noise", "checkered", "gradient"};
  return n[static_cast<int>(b)];
}
const char* domain_name(WorldDomain d) { return d == WorldDomain::A ? "a" : "b"; }

const std::vector<std::pair<std::string, WorldDomain>>& world_domain_names() {
  static const std::vector<std::pair<std::string, WorldDomain>> n = {{"a", WorldDomain::A}, {"b", WorldDomain::B}};
  return n;
}
const std::vector<std::pair<std::string, FrameFormat>>& frame_format_names() {
  static const std::vector<std::pair<std::string, FrameFormat>> n = {
      {"auto", FrameFormat::Auto}, {"jpeg", FrameFormat::Jpeg}, {"bmp", FrameFormat::Bmp}};
  return n;
}

std::array<uint8_t, 3> colour_rgb(Colour c) {
  static const std::array<uint8_t, 3> rgb[kNumColours] = {{220, 30, 30},  {30, 170, 50},  {30, 70, 220},
                                                          {235, 210, 30}, {140, 40, 190}, {245, 130, 20},
                                                          {20, 200, 210}, {245, 90, 170}};
  return rgb[static_cast<int>(c)];
}

bool pair_in_domain(Shape s, Colour c, WorldDomain d) {
  // A residue class rather than a hand-picked list: every shape gets two B colours and every
  // colour one or two B shapes, so B's novelty is in the combinations, not in unseen words.
  const bool b = (static_cast<int>(s) + static_cast<int>(c)) % 4 == 1;
  return b == (d == WorldDomain::B);
}

const std::vector<Backdrop>& domain_backdrops(WorldDomain d) {
  static const std::vector<Backdrop> a = {Backdrop::Plain, Backdrop::Stripes, Backdrop::Noise};
  static const std::vector<Backdrop> b = {Backdrop::Checkered, Backdrop::Gradient};
  return d == WorldDomain::A ? a : b;
}

void WorldOptions::validate() const {
  auto at_least = [](int v, int lo, const char* flag, const char* why) {
    require(v >= lo, std::string(flag) + " " + std::to_string(v) + " must be at least " + std::to_string(lo) + why);
  };
  at_least(train_clips, 0, "--train_clips", "");
  at_least(test_clips, 0, "--test_clips", "");
  require(train_clips + test_clips >= 1, "--train_clips and --test_clips are both 0: nothing to write");
  at_least(captions_per_clip, 1, "--captions_per_clip", "");
  at_least(frames, 2, "--frames", " (a motion needs a first and a last frame)");
  at_least(width, 32, "--width", " (two objects and their motion need room)");
  at_least(height, 32, "--height", " (two objects and their motion need room)");
  require(width <= 4096 && height <= 4096, "--width/--height " + std::to_string(width) + "x" +
                                               std::to_string(height) + " exceeds 4096 pixels a side");
  require(two_object_percent >= 0 && two_object_percent <= 100,
          "--two_object_percent " + std::to_string(two_object_percent) + " must be within 0..100");
  require(jpeg_quality >= 1 && jpeg_quality <= 100,
          "--jpeg_quality " + std::to_string(jpeg_quality) + " must be within 1..100");
  require(frame_format != FrameFormat::Jpeg || world_jpeg_available(),
          "--frame_format jpeg: this build has no TurboJPEG (libturbojpeg); use bmp or auto");
}

std::string world_video_id(WorldDomain d, WorldSplit split, int index) {
  char digits[16];
  std::snprintf(digits, sizeof(digits), "%04d", index);
  return std::string(domain_name(d)) + (split == WorldSplit::Train ? "_train" : "_test") + digits;
}

WorldClip make_world_clip(const WorldOptions& o, WorldSplit split, int index) {
  const uint64_t key = mix(mix(mix(mix(o.seed) ^ static_cast<uint64_t>(o.domain)) ^ static_cast<uint64_t>(split)) ^
                           static_cast<uint64_t>(index));
  std::mt19937_64 g(key);
  WorldClip clip;
  clip.video_id = world_video_id(o.domain, split, index);
  clip.domain = o.domain;
  clip.split = split;
  clip.width = o.width;
  clip.height = o.height;
  clip.frames = o.frames;
  const int objects = below(g, 100) < o.two_object_percent ? 2 : 1;
  std::vector<Colour> taken;
  for (int i = 0; i < objects; ++i) {
    clip.objects.push_back(sample_object(g, o.domain, taken));
    taken.push_back(clip.objects.back().colour);
  }
  clip.background = sample_background(g, o.domain);
  clip.captions = world_captions(clip, o.captions_per_clip, mix(key ^ 0xC0FFEEull));
  return clip;
}

std::vector<std::string> world_captions(const WorldClip& clip, int count, uint64_t seed) {
  require(!clip.objects.empty(), "world clip " + clip.video_id + " has no object to describe");
  std::mt19937_64 g(seed);
  std::vector<std::string> out;
  std::set<std::string> seen;
  // Distinct paraphrases while the templates have more to give; after that, repeats rather than
  // fewer captions, so every clip has exactly `count`.
  for (int tries = 0; static_cast<int>(out.size()) < count && tries < 50 * count; ++tries) {
    std::string c = one_caption(clip, g);
    if (seen.insert(c).second) out.push_back(std::move(c));
  }
  while (static_cast<int>(out.size()) < count) out.push_back(one_caption(clip, g));
  return out;
}

}  // namespace cma::data
