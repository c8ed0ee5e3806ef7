// PIL-exact bicubic resampling, centre crop and CLIP normalisation, in plain C++.
//
// Behaviour reproduced (Pillow 9's ImagingResample, docs/reference.md §9): separable passes, horizontal
// first; per output pixel, center = (i + 0.5) * in/out, support = 2 * max(in/out, 1), taps
// int(center - support + 0.5) .. int(center + support + 0.5) clamped to the image, weights
// cubic((tap - center + 0.5) / max(in/out, 1)) normalised to sum 1 and rounded to 22-bit fixed point;
// each pass rounds (adds half) and clips to 8 bits. A pass whose size does not change is skipped.
// Because every output pixel depends only on its own taps, resampling just the crop window gives
// the same bytes as resizing the whole image and cropping afterwards.
#include "cma/data/image.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include "cma/core/error.h"

namespace cma::data {
namespace {

constexpr int kPrecisionBits = 32 - 8 - 2;  // leaves headroom for 8-bit x weight sums in int32
constexpr int32_t kHalf = 1 << (kPrecisionBits - 1);

// Keys' cubic convolution kernel with a = -0.5 (Pillow's BICUBIC), support 2.
double cubic(double x) {
  constexpr double a = -0.5;
  x = std::fabs(x);
  if (x < 1.0) return ((a + 2.0) * x - (a + 3.0)) * x * x + 1;
  if (x < 2.0) return (((x - 5) * x + 8) * x - 4) * a;
  return 0.0;
}

inline uint8_t clip8(int32_t acc) {
  if (acc < 0) return 0;
  const int32_t v = acc >> kPrecisionBits;
  return static_cast<uint8_t>(v > 255 ? 255 : v);
}

// Fixed-point weights of one axis for the output pixels [first, first + count).
struct AxisCoeffs {
  int ksize = 0;                 // stride of `weights`: the most taps any pixel can have
  std::vector<int> start, taps;  // [count]: first input index and number of taps per output pixel
  std::vector<int32_t> weights;  // [count, ksize]
};

AxisCoeffs axis_coeffs(int in_size, int out_size, int first, int count) {
  const double scale = static_cast<double>(in_size) / out_size;
  const double filterscale = std::max(scale, 1.0);
  const double support = 2.0 * filterscale;
  const double inv = 1.0 / filterscale;
  AxisCoeffs c;
  c.ksize = static_cast<int>(std::ceil(support)) * 2 + 1;
  c.start.resize(count);
  c.taps.resize(count);
  c.weights.assign(static_cast<size_t>(count) * c.ksize, 0);
  std::vector<double> w(c.ksize);
  for (int i = 0; i < count; ++i) {
    const double center = (first + i + 0.5) * scale;
    // Truncation toward zero, as C's (int) cast, then clamping: Pillow's exact tap window.
    const int lo = std::max(static_cast<int>(center - support + 0.5), 0);
    const int hi = std::min(static_cast<int>(center + support + 0.5), in_size);
    const int n = hi - lo;
    double sum = 0.0;
    for (int t = 0; t < n; ++t) {
      w[t] = cubic((t + lo - center + 0.5) * inv);
      sum += w[t];
    }
    int32_t* k = c.weights.data() + static_cast<size_t>(i) * c.ksize;
    for (int t = 0; t < n; ++t) {
      const double v = (sum != 0.0 ? w[t] / sum : w[t]) * (1 << kPrecisionBits);
      k[t] = static_cast<int32_t>(v < 0 ? v - 0.5 : v + 0.5);  // round half away from zero
    }
    c.start[i] = lo;
    c.taps[i] = n;
  }
  return c;
}

// The two passes are the loader's hot loops. On x86-64 they are compiled twice, for AVX2 and for
// the baseline, and the loader picks at run time: integer results are identical either way.
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
#define CMA_HOT_LOOP __attribute__((target_clones("avx2", "default")))
#define CMA_INLINE inline __attribute__((always_inline))
#else
#define CMA_HOT_LOOP
#define CMA_INLINE inline
#endif

// Horizontal pass over `rows` rows of `in` (row stride in_w * C): out is [rows, count, C].
template <int C>
CMA_INLINE void horizontal_pass(const uint8_t* in, int in_w, int rows, const AxisCoeffs& cx, uint8_t* out) {
  const int count = static_cast<int>(cx.start.size());
  for (int y = 0; y < rows; ++y) {
    const uint8_t* row = in + static_cast<size_t>(y) * in_w * C;
    uint8_t* dst = out + static_cast<size_t>(y) * count * C;
    for (int i = 0; i < count; ++i) {
      const uint8_t* src = row + static_cast<size_t>(cx.start[i]) * C;
      const int32_t* k = cx.weights.data() + static_cast<size_t>(i) * cx.ksize;
      int32_t acc[C];
      for (int ch = 0; ch < C; ++ch) acc[ch] = kHalf;
      for (int t = 0, n = cx.taps[i]; t < n; ++t) {
        for (int ch = 0; ch < C; ++ch) acc[ch] += src[t * C + ch] * k[t];
      }
      for (int ch = 0; ch < C; ++ch) dst[i * C + ch] = clip8(acc[ch]);
    }
  }
}

CMA_HOT_LOOP void horizontal_pass(const uint8_t* in, int in_w, int channels, int rows, const AxisCoeffs& cx,
                                  uint8_t* out) {
  switch (channels) {
    case 1: return horizontal_pass<1>(in, in_w, rows, cx, out);
    case 3: return horizontal_pass<3>(in, in_w, rows, cx, out);
    default: return horizontal_pass<4>(in, in_w, rows, cx, out);
  }
}

// Vertical pass: `in` holds rows starting at input row `row0`, each `row_len` bytes; out is
// [count, row_len]. Accumulates whole rows so the inner loop is a straight vectorisable sweep.
CMA_HOT_LOOP void vertical_pass(const uint8_t* in, size_t row_len, int row0, const AxisCoeffs& cy,
                                uint8_t* out) {
  thread_local std::vector<int32_t> acc;
  acc.resize(row_len);
  for (size_t i = 0; i < cy.start.size(); ++i) {
    std::fill(acc.begin(), acc.end(), kHalf);
    const int32_t* k = cy.weights.data() + i * cy.ksize;
    for (int t = 0; t < cy.taps[i]; ++t) {
      const uint8_t* src = in + (static_cast<size_t>(cy.start[i] - row0) + t) * row_len;
      const int32_t kt = k[t];
      int32_t* a = acc.data();
      for (size_t j = 0; j < row_len; ++j) a[j] += src[j] * kt;
    }
    uint8_t* dst = out + i * row_len;
    for (size_t j = 0; j < row_len; ++j) dst[j] = clip8(acc[j]);
  }
}

// Pillow's RGBA -> RGBa: c * a / 255 rounded, by the exact integer formula it uses.
void premultiply(const uint8_t* in, size_t npix, uint8_t* out) {
  for (size_t p = 0; p < npix; ++p, in += 4, out += 4) {
    const uint32_t a = in[3];
    for (int ch = 0; ch < 3; ++ch) {
      const uint32_t t = in[ch] * a + 128;
      out[ch] = static_cast<uint8_t>((t + (t >> 8)) >> 8);
    }
    out[3] = in[3];
  }
}

// Pillow's RGBa -> RGBA: 255 * c / a with integer division, capped; a of 0 or 255 left as is.
void unpremultiply(uint8_t* px, size_t npix) {
  for (size_t p = 0; p < npix; ++p, px += 4) {
    const uint32_t a = px[3];
    if (a == 0 || a == 255) continue;
    for (int ch = 0; ch < 3; ++ch) px[ch] = static_cast<uint8_t>(std::min(255u, 255u * px[ch] / a));
  }
}

void check_image(const Image& in, const char* what) {
  require(in.width > 0 && in.height > 0,
          std::string(what) + ": image is empty (" + std::to_string(in.width) + "x" +
              std::to_string(in.height) + ")");
  require(in.channels == 1 || in.channels == 3 || in.channels == 4,
          std::string(what) + ": image has " + std::to_string(in.channels) +
              " channels; expected 1, 3 or 4");
  require(in.pixels.size() == static_cast<size_t>(in.width) * in.height * in.channels,
          std::string(what) + ": pixel buffer holds " + std::to_string(in.pixels.size()) +
              " bytes, expected width*height*channels = " +
              std::to_string(static_cast<size_t>(in.width) * in.height * in.channels));
}

// The window [x0, x0 + w) x [y0, y0 + h) of `in` resized to out_w x out_h, in in.channels channels.
Image resample_window(const Image& in, int out_w, int out_h, int x0, int y0, int w, int h) {
  const int C = in.channels;
  const bool need_h = out_w != in.width, need_v = out_h != in.height;
  const uint8_t* src = in.pixels.data();
  std::vector<uint8_t> premul;
  if (C == 4 && (need_h || need_v)) {
    premul.resize(in.pixels.size());
    premultiply(src, static_cast<size_t>(in.width) * in.height, premul.data());
    src = premul.data();
  }
  AxisCoeffs cy;
  int row0 = y0, row1 = y0 + h;  // input rows the vertical pass reads
  if (need_v) {
    cy = axis_coeffs(in.height, out_h, y0, h);
    row0 = cy.start.front();
    row1 = 0;
    for (int i = 0; i < h; ++i) row1 = std::max(row1, cy.start[i] + cy.taps[i]);
  }
  // Horizontal pass (or a plain column copy) over the needed rows: tmp is [row1 - row0, w, C].
  thread_local std::vector<uint8_t> tmp;
  const size_t row_len = static_cast<size_t>(w) * C;
  tmp.resize(static_cast<size_t>(row1 - row0) * row_len);
  const uint8_t* rows_in = src + static_cast<size_t>(row0) * in.width * C;
  if (need_h) {
    const AxisCoeffs cx = axis_coeffs(in.width, out_w, x0, w);
    horizontal_pass(rows_in, in.width, C, row1 - row0, cx, tmp.data());
  } else {
    for (int y = 0; y < row1 - row0; ++y) {
      std::memcpy(tmp.data() + y * row_len, rows_in + (static_cast<size_t>(y) * in.width + x0) * C,
                  row_len);
    }
  }
  Image out;
  out.width = w;
  out.height = h;
  out.channels = C;
  out.pixels.resize(static_cast<size_t>(h) * row_len);
  if (need_v) {
    vertical_pass(tmp.data(), row_len, row0, cy, out.pixels.data());
  } else {
    std::memcpy(out.pixels.data(), tmp.data(), out.pixels.size());
  }
  if (!premul.empty()) unpremultiply(out.pixels.data(), static_cast<size_t>(w) * h);
  return out;
}

// Python's round() on (d / 2), d >= 0: halves go to the even neighbour (torchvision's CenterCrop).
int center_offset(int dim, int size) {
  const int d = dim - size;
  int k = d / 2;
  if (d % 2 != 0 && k % 2 != 0) ++k;
  return k;
}

}  // namespace

Image pil_resize_bicubic(const Image& in, int out_w, int out_h) {
  check_image(in, "pil_resize_bicubic");
  require(out_w > 0 && out_h > 0, "pil_resize_bicubic: output size " + std::to_string(out_w) +
                                      "x" + std::to_string(out_h) + " must be positive");
  return resample_window(in, out_w, out_h, 0, 0, out_w, out_h);
}

void clip_resize_dims(int w, int h, int size, int* out_w, int* out_h) {
  const int short_side = std::min(w, h), long_side = std::max(w, h);
  // Python's int(size * long / short): true division in double, truncated.
  const double new_long_exact =
      static_cast<double>(static_cast<int64_t>(size) * long_side) / short_side;
  require(new_long_exact < 2147483647.0,
          "clip_resize_dims: a " + std::to_string(w) + "x" + std::to_string(h) +
              " image resized to shorter side " + std::to_string(size) +
              " would be too large; the aspect ratio is implausible for a video frame");
  const int new_long = static_cast<int>(new_long_exact);
  *out_w = w <= h ? size : new_long;
  *out_h = w <= h ? new_long : size;
}

std::vector<uint8_t> clip_resize_crop(const Image& in, int size) {
  check_image(in, "clip_resize_crop");
  require(size > 0, "clip_resize_crop: size " + std::to_string(size) + " must be positive");
  int rw = 0, rh = 0;
  clip_resize_dims(in.width, in.height, size, &rw, &rh);
  const Image win =
      resample_window(in, rw, rh, center_offset(rw, size), center_offset(rh, size), size, size);
  const size_t npix = static_cast<size_t>(size) * size;
  std::vector<uint8_t> rgb(npix * 3);
  const uint8_t* s = win.pixels.data();
  uint8_t* d = rgb.data();
  if (win.channels == 3) {
    std::memcpy(d, s, rgb.size());
  } else {
    const int C = win.channels;
    for (size_t p = 0; p < npix; ++p, s += C, d += 3) {
      d[0] = s[0];
      d[1] = s[C == 1 ? 0 : 1];
      d[2] = s[C == 1 ? 0 : 2];
    }
  }
  return rgb;
}

void normalize_clip(const uint8_t* hwc, int size, float* chw_out) {
  // (v / 255 - mean) / std in float32, the same operations as ToTensor then Normalize.
  static const auto lut = [] {
    std::vector<float> t(3 * 256);
    for (int c = 0; c < 3; ++c) {
      for (int v = 0; v < 256; ++v) {
        t[c * 256 + v] = (static_cast<float>(v) / 255.0f - kClipMean[c]) / kClipStd[c];
      }
    }
    return t;
  }();
  const size_t npix = static_cast<size_t>(size) * size;
  for (int c = 0; c < 3; ++c) {
    const float* l = lut.data() + c * 256;
    float* out = chw_out + c * npix;
    for (size_t p = 0; p < npix; ++p) out[p] = l[hwc[p * 3 + c]];
  }
}

}  // namespace cma::data
