#include "image_decoders.h"

#include "cma/core/error.h"

#ifdef CMA_WITH_TURBOJPEG
#include <turbojpeg.h>
#endif

namespace cma::data {

#ifdef CMA_WITH_TURBOJPEG
namespace {

// One decompressor per thread: creating one costs more than decoding a small frame.
tjhandle thread_decompressor() {
  thread_local struct Handle {
    tjhandle h = tjInitDecompress();
    ~Handle() {
      if (h) tjDestroy(h);
    }
  } handle;
  return handle.h;
}

}  // namespace

bool decode_jpeg_turbo(const uint8_t* data, size_t size, const std::string& name, Image& out) {
  if (size < 3 || data[0] != 0xFF || data[1] != 0xD8 || data[2] != 0xFF) return false;
  tjhandle h = thread_decompressor();
  if (!h) return false;
  int w = 0, hgt = 0, subsamp = 0, colorspace = 0;
  if (tjDecompressHeader3(h, data, static_cast<unsigned long>(size), &w, &hgt, &subsamp, &colorspace) != 0) {
    throw Error("cannot decode image " + name + ": " + tjGetErrorStr2(h));
  }
  if (colorspace == TJCS_CMYK || colorspace == TJCS_YCCK) return false;
  const bool grey = colorspace == TJCS_GRAY;
  Image img;
  img.width = w;
  img.height = hgt;
  img.channels = grey ? 1 : 3;
  img.pixels.resize(static_cast<size_t>(w) * hgt * img.channels);
  // Flags 0: accurate integer IDCT and fancy upsampling, libjpeg's defaults, as Pillow decodes.
  if (tjDecompress2(h, data, static_cast<unsigned long>(size), img.pixels.data(), w, 0, hgt,
                    grey ? TJPF_GRAY : TJPF_RGB, 0) != 0 &&
      tjGetErrorCode(h) == TJERR_FATAL) {
    throw Error("cannot decode image " + name + ": " + tjGetErrorStr2(h));
  }
  out = std::move(img);
  return true;
}
#else
bool decode_jpeg_turbo(const uint8_t*, size_t, const std::string&, Image&) { return false; }
#endif

}  // namespace cma::data
