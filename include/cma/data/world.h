// A synthetic video-text "world" for `cma demo`: short clips of coloured shapes moving over a
// background, each with several captions that are all TRUE of it, written in MSR-VTT's layout
// (msrvtt.h) so that the ordinary loader, training and evaluation run on it. Torch-free and
// OpenCV-free: frames are drawn into RGB buffers here and encoded with TurboJPEG (or written as
// 24-bit BMP in builds without it).
//
// A clip: 1 or 2 objects, each a shape in a colour and a size doing one motion, over a backdrop.
// With 2 objects the frame is split in halves (left/right, or top/bottom when taller than wide),
// one object per half, so that the objects never overlap and keep distinct colours.
//
// Two domains, so that a model trained on A does worse on B (a compositional and lexical shift):
//   attribute          domain A (pretraining)                 domain B (shifted)
//   shape x colour     the 36 pairs with (shape + colour) % 4 != 1, shapes and colours numbered
//                      as in the enums below; B: the other 12 pairs, namely
//                        circle: green, orange    square: red, purple      triangle: yellow, pink
//                        star: blue, cyan         diamond: green, orange   cross: red, purple
//                      (every shape and every colour occurs in both domains; no pair in both)
//   backdrop           plain, stripes, noise                  checkered, gradient
//   colour words       red scarlet, green emerald, blue azure, yellow golden, purple violet,
//                      orange tangerine, cyan turquoise, pink rose     (A)
//                      red crimson, green jade, blue cobalt, yellow lemon, purple plum,
//                      orange amber, cyan aqua, pink fuchsia           (B; the plain name is shared)
//   motion verbs       moves slides goes; grows, gets bigger, expands; shrinks, gets smaller,
//                      contracts; goes round and round, moves in a loop, circles around (A)
//                      drifts glides travels; swells inflates balloons; dwindles deflates
//                      diminishes; orbits, loops around, revolves in a ring (B)
//   shared             shape words (circle/disc, square/block, triangle, star, diamond/rhombus,
//                      cross/plus sign), size words (small little tiny / big large), directions
//                      (to the left, left, leftwards; up, upwards, towards the top; ...)
//
// Captions come from templates such as "a big red circle moves to the left on a striped
// background", "on a noisy background, a small blue square goes up", "the large scarlet disc
// slides leftwards", "there is a tiny green triangle that grows against stripes", in B "a large
// crimson square drifts left over a chequered backdrop", and for two objects
// "a red circle moves left while a blue square shrinks". A caption names only what the clip
// shows: no motion phrase holds a shape word, and the two objects of a clip differ in colour.
//
// Determinism: every clip is a function of (seed, domain, split, index) alone, drawn from
// std::mt19937_64 with modulo arithmetic (the standard's distributions differ between standard
// libraries) and integer geometry, so the same options give the same clips, captions and pixels
// on every platform (JPEG bytes also depend on the libjpeg-turbo version), and adding clips leaves
// the earlier ones unchanged.
#pragma once
#include <array>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "cma/data/image.h"

namespace cma::data {

enum class WorldDomain { A, B };
enum class WorldSplit { Train, Test };
enum class Shape { Circle, Square, Triangle, Star, Diamond, Cross };
enum class Colour { Red, Green, Blue, Yellow, Purple, Orange, Cyan, Pink };
enum class ObjectSize { Small, Big };
enum class Motion { Left, Right, Up, Down, Growing, Shrinking, Circling };
enum class Backdrop { Plain, Stripes, Noise, Checkered, Gradient };
// How frames are stored: Auto is JPEG when the build has TurboJPEG, else BMP.
enum class FrameFormat { Auto, Jpeg, Bmp };

inline constexpr int kNumShapes = 6, kNumColours = 8, kNumMotions = 7, kNumBackdrops = 5;

// Canonical lower-case names ("circle", "red", "small", "left", "stripes", "a"), for metadata and
// messages; captions use these and their synonyms.
const char* shape_name(Shape s);
const char* colour_name(Colour c);
const char* size_name(ObjectSize s);
const char* motion_name(Motion m);
const char* backdrop_name(Backdrop b);
const char* domain_name(WorldDomain d);
// The flag spellings of the domains ("a", "b") and frame formats ("auto", "jpeg", "bmp").
const std::vector<std::pair<std::string, WorldDomain>>& world_domain_names();
const std::vector<std::pair<std::string, FrameFormat>>& frame_format_names();

// The RGB an object of colour `c` is painted in. Backdrops are low-saturation greys, so a pixel
// near this colour belongs to the object.
std::array<uint8_t, 3> colour_rgb(Colour c);

// The domain split above.
bool pair_in_domain(Shape s, Colour c, WorldDomain d);
const std::vector<Backdrop>& domain_backdrops(WorldDomain d);

struct WorldOptions {
  WorldDomain domain = WorldDomain::A;  // attribute split and vocabulary (see the table above)
  int train_clips = 200;                // clips in MSRVTT_train.9k.csv, all captions in the JSON
  int test_clips = 50;                  // clips in MSRVTT_JSFUSION_test.csv, one caption each (as 1k-A)
  int captions_per_clip = 10;           // paraphrases per clip in MSRVTT_data.json (MSR-VTT has 20)
  int frames = 12;                      // frames per clip; at least 2 so that the motion shows
  int width = 224, height = 224;        // frame size in pixels (at least 32 each)
  uint64_t seed = 0;                    // clips, captions and pixels are a function of this
  int two_object_percent = 40;          // share of clips with two objects, 0..100
  FrameFormat frame_format = FrameFormat::Auto;  // auto | jpeg (needs TurboJPEG) | bmp
  int jpeg_quality = 90;                // 1..100

  // Checks every field; messages name the flag, the value and what is allowed.
  void validate() const;
};

// One object of a clip. x_permille/y_permille place it within the room its half of the frame
// leaves (0: one edge, 1000: the other) along the axes its motion does not drive.
struct WorldObject {
  Shape shape = Shape::Circle;
  Colour colour = Colour::Red;
  ObjectSize size = ObjectSize::Big;
  Motion motion = Motion::Left;
  int x_permille = 500, y_permille = 500;
};

// A backdrop's look. tone/tone2 are near-grey; period is the stripe or check size in pixels;
// orientation 0/1/2 is horizontal/vertical/diagonal (stripes, gradient); noise_seed drives the grain.
struct WorldBackground {
  Backdrop kind = Backdrop::Plain;
  std::array<uint8_t, 3> tone{128, 128, 128}, tone2{80, 80, 80};
  int period = 16;
  int orientation = 0;
  uint64_t noise_seed = 0;
};

// A clip's metadata: everything its frames and captions are made from.
struct WorldClip {
  std::string video_id;  // world_video_id(domain, split, index)
  WorldDomain domain = WorldDomain::A;
  WorldSplit split = WorldSplit::Train;
  int width = 224, height = 224, frames = 12;
  WorldBackground background;
  std::vector<WorldObject> objects;   // 1 or 2, distinct colours
  std::vector<std::string> captions;  // all true of the clip; distinct where the templates allow
};

// "a_train0007", "b_test0003": distinct across domains, so trees of both can share a folder.
std::string world_video_id(WorldDomain d, WorldSplit split, int index);

// Clip `index` of `split` (o.validate() first): attributes, look and o.captions_per_clip captions.
WorldClip make_world_clip(const WorldOptions& o, WorldSplit split, int index);
// `count` captions of `clip`, drawn from its domain's templates and words with a generator seeded
// by `seed`. A separate stream from the clip's look, so asking for more captions changes no pixel.
std::vector<std::string> world_captions(const WorldClip& clip, int count, uint64_t seed);
// Frame `frame` (0 .. clip.frames-1) as RGB: the backdrop, then each object at its pose for that
// frame (translations cross their half of the frame; growing/shrinking scale 0.6x <-> 1.4x;
// circling makes one turn over the clip).
Image render_world_frame(const WorldClip& clip, int frame);

// ---- Writing the tree (world_writer.cpp) ------------------------------------------------------
// Layout under `root` (anno_path = root/anns, features_path = root/frames):
//   anns/MSRVTT_data.json          {"info": {format "cma.world", version 1, the options},
//                                   "sentences": [{"video_id", "caption", "sen_id"}, ...]}:
//                                   every caption of every clip, train clips then test clips
//   anns/MSRVTT_train.9k.csv       video_id; the training clips in order
//   anns/MSRVTT_JSFUSION_test.csv  key,vid_key,video_id,sentence; one row per test clip (its first
//                                   caption), quoted where it holds a comma
//   anns/world_clips.json          {"format": "cma.world_clips", "version": 1, "clips": [{video_id,
//                                   split, backdrop, objects: [{shape, colour, size, motion}]}]}
//   frames/<id>.mp4/NNNNN.jpg      frames 00000 .. frames-1 (.bmp without TurboJPEG)
inline std::string world_anno_path(const std::string& root) { return root + "/anns"; }
inline std::string world_features_path(const std::string& root) { return root + "/frames"; }

// Whether `root` holds a complete tree that write_world(root, o) would write (the same options in
// MSRVTT_data.json's "info"), so that it need not be written again.
bool world_present(const std::string& root, const WorldOptions& o);

// Whether this build can write JPEG frames (it found TurboJPEG).
bool world_jpeg_available();
// ".jpg" or ".bmp": what `f` writes in this build (Auto resolved).
std::string world_frame_ext(FrameFormat f);

// Validates `o`, writes the tree under `root` (created if needed; files and frame folders of the
// same names are replaced) and returns the clips written, training clips first. Throws
// cma::Error on invalid options or when a file cannot be written.
std::vector<WorldClip> write_world(const std::string& root, const WorldOptions& o);

}  // namespace cma::data
