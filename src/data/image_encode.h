// Private: encoding RGB frames for the synthetic world (world_writer.cpp). JPEG through
// TurboJPEG's tjCompress2 (the library jpeg_turbo.cpp decodes with), and uncompressed 24-bit BMP
// so that builds without TurboJPEG can still write frames the loader reads.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "cma/data/image.h"

namespace cma::data {

// Whether this build has TurboJPEG (CMA_WITH_TURBOJPEG, set by CMake when it finds libturbojpeg).
bool jpeg_encoder_available();

// Baseline JPEG of a 3-channel RGB image at `quality` (1..100), 4:2:0 chroma as most video frame
// dumps are. Throws cma::Error naming `name` when the build has no TurboJPEG or encoding fails.
std::vector<uint8_t> encode_jpeg(const Image& rgb, int quality, const std::string& name);

// A BITMAPINFOHEADER BMP (24 bits, uncompressed, bottom-up rows padded to 4 bytes) of a 3-channel
// RGB image. Throws cma::Error naming `name` for an image that is not 3-channel.
std::vector<uint8_t> encode_bmp(const Image& rgb, const std::string& name);

}  // namespace cma::data
