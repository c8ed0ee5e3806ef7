// decode_image (image.h): TurboJPEG for JPEG frames, the common case; OpenCV for everything else
// where the build has it.
#include <fstream>
#include <vector>

#include "cma/core/error.h"
#include "cma/data/image.h"
#include "cma/data/image_header.h"
#include "image_decoders.h"

namespace cma::data {

Image decode_image_bytes(const uint8_t* data, size_t size, const std::string& name_for_errors) {
  require(data != nullptr && size > 0, "image " + name_for_errors + " is empty (0 bytes)");
  check_image_header(data, size, name_for_errors);  // size limit and truncation, before any pixel
  Image img;
  if (decode_jpeg_turbo(data, size, name_for_errors, img)) return img;
#if CMA_WITH_OPENCV
  decode_image_opencv(data, size, name_for_errors, img);
  return img;
#else
  throw Error("cannot decode image " + name_for_errors +
              ": this build has no OpenCV, and reads only grey and colour JPEG frames (with TurboJPEG); "
              "PNG, BMP, WebP and CMYK JPEG need -DCMA_WITH_OPENCV=ON");
#endif
}

Image decode_image(const std::string& path) {
  std::ifstream f(path, std::ios::binary | std::ios::ate);
  if (!f) throw Error("cannot open image " + path + ": no such file or not readable");
  const std::streamsize n = f.tellg();
  if (n <= 0) throw Error("image " + path + " is empty (0 bytes)");
  std::vector<uint8_t> bytes(static_cast<size_t>(n));
  f.seekg(0);
  if (!f.read(reinterpret_cast<char*>(bytes.data()), n)) {
    throw Error("cannot read image " + path + ": read failed after " + std::to_string(f.gcount()) +
                " of " + std::to_string(n) + " bytes");
  }
  return decode_image_bytes(bytes.data(), bytes.size(), path);
}

}  // namespace cma::data
