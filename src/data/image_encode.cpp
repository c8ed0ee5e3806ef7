#include "image_encode.h"

#include "cma/core/error.h"

#ifdef CMA_WITH_TURBOJPEG
#include <turbojpeg.h>
#endif

namespace cma::data {
namespace {

void require_rgb(const Image& img, const std::string& name) {
  require(img.channels == 3 && img.width > 0 && img.height > 0 &&
              img.pixels.size() == static_cast<size_t>(img.width) * img.height * 3,
          "cannot encode " + name + ": expected a non-empty 3-channel RGB image, found " +
              std::to_string(img.width) + "x" + std::to_string(img.height) + "x" + std::to_string(img.channels));
}

void put_le(std::vector<uint8_t>& out, uint32_t v, int bytes) {
  for (int i = 0; i < bytes; ++i) out.push_back(static_cast<uint8_t>(v >> (8 * i)));
}

}  // namespace

#ifdef CMA_WITH_TURBOJPEG
bool jpeg_encoder_available() { return true; }

std::vector<uint8_t> encode_jpeg(const Image& rgb, int quality, const std::string& name) {
  require_rgb(rgb, name);
  // One compressor per thread, as for decoding: creating one costs more than a small frame.
  thread_local struct Handle {
    tjhandle h = tjInitCompress();
    ~Handle() {
      if (h) tjDestroy(h);
    }
  } handle;
  require(handle.h != nullptr, "cannot encode " + name + ": TurboJPEG could not create a compressor");
  unsigned char* jpeg = nullptr;  // TurboJPEG allocates it (tjFree)
  unsigned long size = 0;
  if (tjCompress2(handle.h, rgb.pixels.data(), rgb.width, 0, rgb.height, TJPF_RGB, &jpeg, &size, TJSAMP_420,
                  quality, TJFLAG_ACCURATEDCT) != 0) {
    const std::string why = tjGetErrorStr2(handle.h);
    tjFree(jpeg);
    throw Error("cannot encode " + name + " as JPEG: " + why);
  }
  std::vector<uint8_t> out(jpeg, jpeg + size);
  tjFree(jpeg);
  return out;
}
#else
bool jpeg_encoder_available() { return false; }

std::vector<uint8_t> encode_jpeg(const Image&, int, const std::string& name) {
  throw Error("cannot encode " + name + " as JPEG: this build has no TurboJPEG (libturbojpeg); write BMP frames");
}
#endif

std::vector<uint8_t> encode_bmp(const Image& rgb, const std::string& name) {
  require_rgb(rgb, name);
  const uint32_t row_bytes = (static_cast<uint32_t>(rgb.width) * 3 + 3) / 4 * 4;
  const uint32_t data_bytes = row_bytes * static_cast<uint32_t>(rgb.height);
  std::vector<uint8_t> out;
  out.reserve(54 + data_bytes);
  out.push_back('B');
  out.push_back('M');
  put_le(out, 54 + data_bytes, 4);  // file size
  put_le(out, 0, 4);                // reserved
  put_le(out, 54, 4);               // offset of the pixels
  put_le(out, 40, 4);               // BITMAPINFOHEADER
  put_le(out, static_cast<uint32_t>(rgb.width), 4);
  put_le(out, static_cast<uint32_t>(rgb.height), 4);  // positive: rows stored bottom-up
  put_le(out, 1, 2);                // planes
  put_le(out, 24, 2);               // bits per pixel
  put_le(out, 0, 4);                // BI_RGB
  put_le(out, data_bytes, 4);
  put_le(out, 2835, 4);             // 72 dpi, both axes
  put_le(out, 2835, 4);
  put_le(out, 0, 4);                // palette colours
  put_le(out, 0, 4);                // important colours
  for (int y = rgb.height - 1; y >= 0; --y) {
    const uint8_t* row = rgb.pixels.data() + static_cast<size_t>(y) * rgb.width * 3;
    for (int x = 0; x < rgb.width; ++x) {  // BMP stores blue, green, red
      out.push_back(row[3 * x + 2]);
      out.push_back(row[3 * x + 1]);
      out.push_back(row[3 * x]);
    }
    out.resize(out.size() + (row_bytes - static_cast<uint32_t>(rgb.width) * 3), 0);
  }
  return out;
}

}  // namespace cma::data
