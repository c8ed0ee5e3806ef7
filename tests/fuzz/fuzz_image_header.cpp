// Fuzzes check_image_header, the check every frame passes before it is decoded: the input is the
// encoded file. A JPEG, PNG or BMP it accepts must have both sides in [1, kMaxImageSide], a WebP
// no size; the format must be the one the first bytes name. Errors must be cma::Error. The input
// buffer is exactly `size` bytes on the heap, so the address sanitizer catches any read past it.
#include <cstdint>
#include <cstring>

#include "cma/core/error.h"
#include "cma/data/image_header.h"
#include "fuzz_util.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using Format = cma::data::ImageHeader::Format;
  try {
    const cma::data::ImageHeader h = cma::data::check_image_header(size ? data : nullptr, size, "fuzz.jpg");
    const bool jpeg = size >= 3 && data[0] == 0xFF && data[1] == 0xD8 && data[2] == 0xFF;
    const bool png = !jpeg && size >= 8 && std::memcmp(data, "\x89PNG\r\n\x1a\n", 8) == 0;
    const bool bmp = !jpeg && !png && size >= 2 && data[0] == 'B' && data[1] == 'M';
    CMA_FUZZ_CHECK(h.format == (jpeg ? Format::Jpeg : png ? Format::Png : bmp ? Format::Bmp : Format::Webp));
    if (h.format == Format::Webp) {
      CMA_FUZZ_CHECK(size >= 12 && std::memcmp(data, "RIFF", 4) == 0 && std::memcmp(data + 8, "WEBP", 4) == 0);
      CMA_FUZZ_CHECK(h.width == 0 && h.height == 0);
    } else {
      CMA_FUZZ_CHECK(h.width >= 1 && h.width <= cma::data::kMaxImageSide);
      CMA_FUZZ_CHECK(h.height >= 1 && h.height <= cma::data::kMaxImageSide);
    }
  } catch (const cma::Error&) {
  }
  return 0;
}
