// Drawing a world clip's frames into RGB buffers (world.h). Integer geometry throughout (shape
// outlines are integer tables, positions integer pixels), so the pixels do not depend on the
// platform's floating-point library; the one trigonometric call, the circling path, is rounded to
// whole pixels.
#include <algorithm>
#include <cmath>
#include <cstdlib>

#include "cma/data/world.h"
#include "cma/core/error.h"

namespace cma::data {
namespace {

constexpr int kMargin = 2;  // pixels kept between an object and the edge of its half

struct Cell {
  int x, y, w, h;
};
struct Pose {
  int cx, cy, r;  // centre and radius of the circle the shape is inscribed in, in pixels
};

// The part of the frame object `i` keeps to: all of it for one object, else one half, split
// across the longer side.
Cell object_cell(const WorldClip& c, int i) {
  if (c.objects.size() < 2) return {0, 0, c.width, c.height};
  if (c.width >= c.height) {
    const int half = c.width / 2;
    return i == 0 ? Cell{0, 0, half, c.height} : Cell{half, 0, c.width - half, c.height};
  }
  const int half = c.height / 2;
  return i == 0 ? Cell{0, 0, c.width, half} : Cell{0, half, c.width, c.height - half};
}

// Radii are relative to the whole frame, not the cell, so that "big" means the same size in
// one- and two-object clips of one world.
int base_radius(const WorldClip& c, ObjectSize s) {
  return std::max(3, std::min(c.width, c.height) * (s == ObjectSize::Small ? 80 : 140) / 1000);
}

// A coordinate along a cell side of length `size` starting at `start` for a centre that needs
// `extent` pixels on either side: `permille` of the free room (the middle when there is none).
int place(int start, int size, int extent, int permille) {
  const int room = size - 2 * (extent + kMargin);
  if (room <= 0) return start + size / 2;
  return start + extent + kMargin + room * permille / 1000;
}

Pose object_pose(const WorldClip& c, int i, int frame) {
  const WorldObject& o = c.objects[i];
  const Cell cell = object_cell(c, i);
  const int t = frame * 1000 / (c.frames - 1);  // progress through the clip, permille
  const int r0 = base_radius(c, o.size);
  switch (o.motion) {
    case Motion::Left:
    case Motion::Right: {
      const int lo = place(cell.x, cell.w, r0, 0), hi = place(cell.x, cell.w, r0, 1000);
      const int x = o.motion == Motion::Right ? lo + (hi - lo) * t / 1000 : hi - (hi - lo) * t / 1000;
      return {x, place(cell.y, cell.h, r0, o.y_permille), r0};
    }
    case Motion::Up:
    case Motion::Down: {
      const int lo = place(cell.y, cell.h, r0, 0), hi = place(cell.y, cell.h, r0, 1000);
      const int y = o.motion == Motion::Down ? lo + (hi - lo) * t / 1000 : hi - (hi - lo) * t / 1000;
      return {place(cell.x, cell.w, r0, o.x_permille), y, r0};
    }
    case Motion::Growing:
    case Motion::Shrinking: {
      // 0.6x -> 1.4x of the base radius: a visible change whatever the size.
      const int scale = o.motion == Motion::Growing ? 600 + 800 * t / 1000 : 1400 - 800 * t / 1000;
      const int extent = r0 * 1400 / 1000;
      return {place(cell.x, cell.w, extent, o.x_permille), place(cell.y, cell.h, extent, o.y_permille),
              r0 * scale / 1000};
    }
    case Motion::Circling: {
      const int orbit = std::max(1, std::min(std::min(cell.w, cell.h) / 2 - r0 - kMargin,
                                             std::min(c.width, c.height) / 5));
      const int ox = place(cell.x, cell.w, r0 + orbit, o.x_permille);
      const int oy = place(cell.y, cell.h, r0 + orbit, o.y_permille);
      // One turn over `frames` steps (not frames-1), so the last frame does not repeat the first.
      const double a = 2.0 * 3.14159265358979323846 * frame / c.frames;
      return {ox + static_cast<int>(std::lround(orbit * std::cos(a))),
              oy + static_cast<int>(std::lround(orbit * std::sin(a))), r0};
    }
  }
  return {cell.x + cell.w / 2, cell.y + cell.h / 2, r0};
}

// Outlines on the unit circle scaled by 1000, precomputed so that no libm call enters a pixel.
struct Vertex {
  int x, y;
};
const Vertex kTriangle[] = {{0, -1000}, {866, 500}, {-866, 500}};
// Five points at radius 1000 and five notches at 382 (a regular star's ratio), pointing up.
const Vertex kStar[] = {{0, -1000}, {225, -309}, {951, -309}, {363, 118},   {588, 809},
                        {0, 382},   {-588, 809}, {-363, 118}, {-951, -309}, {-225, -309}};

// Even-odd test of pixel offset (dx, dy) against an outline scaled to radius r. The crossing
// abscissa is a quotient of exact integers, so IEEE division gives it the same on every machine.
template <size_t N>
bool inside_outline(const Vertex (&v)[N], int dx, int dy, int r) {
  const int64_t px = int64_t{dx} * 1000, py = int64_t{dy} * 1000;
  bool in = false;
  for (size_t i = 0, j = N - 1; i < N; j = i++) {
    const int64_t xi = int64_t{v[i].x} * r, yi = int64_t{v[i].y} * r;
    const int64_t xj = int64_t{v[j].x} * r, yj = int64_t{v[j].y} * r;
    if ((yi > py) == (yj > py)) continue;
    const double cross = static_cast<double>(xj - xi) * static_cast<double>(py - yi) / static_cast<double>(yj - yi);
    if (static_cast<double>(px - xi) < cross) in = !in;
  }
  return in;
}

bool inside(Shape s, int dx, int dy, int r) {
  const int ax = std::abs(dx), ay = std::abs(dy);
  switch (s) {
    case Shape::Circle: return dx * dx + dy * dy <= r * r;
    case Shape::Square: return ax * 8 <= r * 7 && ay * 8 <= r * 7;  // about a circle's area
    case Shape::Diamond: return ax + ay <= r;
    case Shape::Cross: return (ax * 3 <= r && ay <= r) || (ay * 3 <= r && ax <= r);
    case Shape::Triangle: return inside_outline(kTriangle, dx, dy, r);
    case Shape::Star: return inside_outline(kStar, dx, dy, r);
  }
  return false;
}

uint8_t clamp_byte(int v) { return static_cast<uint8_t>(std::min(255, std::max(0, v))); }

// A hash of a grain's position: static noise that is the same in every frame, so only the
// objects move. 2x2-pixel grains keep JPEG frames from ballooning.
int grain(uint64_t seed, int x, int y) {
  uint64_t z = seed ^ (static_cast<uint64_t>(y / 2) << 32 | static_cast<uint64_t>(x / 2));
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return static_cast<int>((z ^ (z >> 31)) % 61) - 30;
}

// Which of the two tones a pattern pixel takes (stripes and checks), or the blend in permille
// from tone to tone2 (gradient).
int backdrop_mix(const WorldBackground& b, int x, int y, int w, int h) {
  const int along = b.orientation == 0 ? y : b.orientation == 1 ? x : x + y;
  switch (b.kind) {
    case Backdrop::Stripes: return (along / std::max(1, b.period / 2)) % 2 * 1000;
    case Backdrop::Checkered: return (x / b.period + y / b.period) % 2 * 1000;
    case Backdrop::Gradient: {
      const int span = b.orientation == 0 ? h - 1 : b.orientation == 1 ? w - 1 : w + h - 2;
      return along * 1000 / std::max(1, span);
    }
    default: return 0;
  }
}

void paint_background(const WorldBackground& b, Image& img) {
  for (int y = 0; y < img.height; ++y) {
    uint8_t* row = img.pixels.data() + static_cast<size_t>(y) * img.width * 3;
    for (int x = 0; x < img.width; ++x) {
      const int m = backdrop_mix(b, x, y, img.width, img.height);
      const int noise = b.kind == Backdrop::Noise ? grain(b.noise_seed, x, y) : 0;
      for (int ch = 0; ch < 3; ++ch)
        row[3 * x + ch] = clamp_byte(b.tone[ch] + (b.tone2[ch] - b.tone[ch]) * m / 1000 + noise);
    }
  }
}

void paint_object(Shape s, const std::array<uint8_t, 3>& rgb, const Pose& p, Image& img) {
  const int x0 = std::max(0, p.cx - p.r), x1 = std::min(img.width - 1, p.cx + p.r);
  const int y0 = std::max(0, p.cy - p.r), y1 = std::min(img.height - 1, p.cy + p.r);
  for (int y = y0; y <= y1; ++y) {
    for (int x = x0; x <= x1; ++x) {
      if (!inside(s, x - p.cx, y - p.cy, p.r)) continue;
      uint8_t* px = img.pixels.data() + (static_cast<size_t>(y) * img.width + x) * 3;
      px[0] = rgb[0];
      px[1] = rgb[1];
      px[2] = rgb[2];
    }
  }
}

}  // namespace

Image render_world_frame(const WorldClip& clip, int frame) {
  require(clip.width >= 1 && clip.height >= 1 && clip.frames >= 2,
          "world clip " + clip.video_id + ": needs a positive size and at least 2 frames");
  require(frame >= 0 && frame < clip.frames, "world clip " + clip.video_id + ": frame " + std::to_string(frame) +
                                                  " is outside 0.." + std::to_string(clip.frames - 1));
  Image img;
  img.width = clip.width;
  img.height = clip.height;
  img.channels = 3;
  img.pixels.resize(static_cast<size_t>(img.width) * img.height * 3);
  paint_background(clip.background, img);
  for (size_t i = 0; i < clip.objects.size(); ++i) {
    const WorldObject& o = clip.objects[i];
    paint_object(o.shape, colour_rgb(o.colour), object_pose(clip, static_cast<int>(i), frame), img);
  }
  return img;
}

}  // namespace cma::data
