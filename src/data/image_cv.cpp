// Image decoding with OpenCV's imgcodecs, for what TurboJPEG does not read. OpenCV hands back
// BGR(A) in 8 or 16 bits; this file turns that into the RGB(A) 8-bit layout PIL would show. Builds
// without OpenCV drop this file.
#include "cma/data/image.h"

#include <opencv2/core.hpp>
#include <opencv2/imgcodecs.hpp>

#include <algorithm>
#include <vector>

#include "cma/core/error.h"
#include "image_decoders.h"

namespace cma::data {
namespace {

// 16-bit -> 8-bit by keeping the high byte, which is how Pillow unpacks 16-bit RGB(A) PNGs
// ("RGB;16B"). Float images (EXR, HDR) are taken as [0, 1] and saturated.
cv::Mat to_8bit(const cv::Mat& m, const std::string& name) {
  if (m.depth() == CV_8U) return m;
  cv::Mat out;
  if (m.depth() == CV_16U) {
    out.create(m.rows, m.cols, CV_MAKETYPE(CV_8U, m.channels()));
    const int n = m.cols * m.channels();
    for (int y = 0; y < m.rows; ++y) {
      const uint16_t* src = m.ptr<uint16_t>(y);
      uint8_t* dst = out.ptr<uint8_t>(y);
      for (int i = 0; i < n; ++i) dst[i] = static_cast<uint8_t>(src[i] >> 8);
    }
  } else if (m.depth() == CV_32F || m.depth() == CV_64F) {
    m.convertTo(out, CV_8U, 255.0);
  } else {
    throw Error("image " + name + ": unsupported sample depth (OpenCV depth code " +
                std::to_string(m.depth()) + "); expected 8- or 16-bit samples");
  }
  return out;
}

// Copies an 8-bit OpenCV matrix into `img`, reordering BGR(A) to RGB(A). Grey+alpha (2 channels)
// becomes RGBA with the grey replicated, which resizes exactly as PIL's LA mode does.
void copy_reordered(const cv::Mat& m, Image& img) {
  const int w = m.cols, h = m.rows, cin = m.channels();
  img.width = w;
  img.height = h;
  img.channels = cin == 2 ? 4 : cin;
  img.pixels.resize(static_cast<size_t>(w) * h * img.channels);
  for (int y = 0; y < h; ++y) {
    const uint8_t* src = m.ptr<uint8_t>(y);
    uint8_t* dst = img.pixels.data() + static_cast<size_t>(y) * w * img.channels;
    if (cin == 1) {
      std::copy(src, src + w, dst);
    } else if (cin == 2) {
      for (int x = 0; x < w; ++x, src += 2, dst += 4) {
        dst[0] = dst[1] = dst[2] = src[0];
        dst[3] = src[1];
      }
    } else if (cin == 3) {
      for (int x = 0; x < w; ++x, src += 3, dst += 3) {
        dst[0] = src[2];
        dst[1] = src[1];
        dst[2] = src[0];
      }
    } else {
      for (int x = 0; x < w; ++x, src += 4, dst += 4) {
        dst[0] = src[2];
        dst[1] = src[1];
        dst[2] = src[0];
        dst[3] = src[3];
      }
    }
  }
}

}  // namespace

bool decode_image_opencv(const uint8_t* data, size_t size, const std::string& name_for_errors, Image& img) {
  cv::Mat decoded;
  try {
    // IMREAD_UNCHANGED keeps grey as one channel, keeps alpha and 16 bits, and (like PIL's open)
    // ignores the EXIF orientation.
    const cv::Mat buf(1, static_cast<int>(size), CV_8U, const_cast<uint8_t*>(data));
    decoded = cv::imdecode(buf, cv::IMREAD_UNCHANGED);
  } catch (const cv::Exception& e) {
    throw Error("cannot decode image " + name_for_errors + ": " + e.what());
  }
  if (decoded.empty()) {
    throw Error("cannot decode image " + name_for_errors +
                ": not a readable image (corrupt, truncated or unsupported format)");
  }
  const int ch = decoded.channels();
  if (ch < 1 || ch > 4) {
    throw Error("image " + name_for_errors + " has " + std::to_string(ch) +
                " channels; expected 1 (grey), 3 (colour) or 4 (colour + alpha)");
  }
  copy_reordered(to_8bit(decoded, name_for_errors), img);
  return true;
}

}  // namespace cma::data
