// Private: the decoders behind decode_image_bytes (image_decode.cpp). JPEG goes straight to RGB
// (or grey) with libjpeg-turbo's TurboJPEG API, the same decoder OpenCV and Pillow use underneath,
// minus OpenCV's RGB->BGR->RGB round trip; OpenCV reads the rest.
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>

#include "cma/data/image.h"

namespace cma::data {

// Decodes a baseline/progressive JPEG (grey or YCbCr) into `out`. Returns false, leaving `out`
// untouched, for what it does not handle (CMYK/YCCK, or a build without TurboJPEG), so the
// caller can fall back to OpenCV. Throws cma::Error naming the image when the data is corrupt.
bool decode_jpeg_turbo(const uint8_t* data, size_t size, const std::string& name, Image& out);

// Any format OpenCV's imgcodecs reads, into PIL's layout (image.h). Throws cma::Error naming the
// image when it cannot be decoded. Only in builds with OpenCV (image_cv.cpp).
bool decode_image_opencv(const uint8_t* data, size_t size, const std::string& name, Image& out);

}  // namespace cma::data
