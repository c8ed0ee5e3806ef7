// Checks an encoded frame before a single pixel is decoded: its size is read from the JPEG or PNG
// header and refused above kMaxImageSide, and a JPEG or PNG that stops before its end marker is
// refused as truncated. A 22 KB JPEG can claim 20000 x 20000 pixels (1.2 GB of RGB) and decoders
// allocate what the header claims; a truncated JPEG decodes "successfully" into grey stripes.
// Torch-free and allocation-free, so the fuzzer runs it on any bytes.
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>

namespace cma::data {

// The largest width or height a frame may have (8K video is 7680 x 4320).
inline constexpr int kMaxImageSide = 8192;

// The formats frame folders may hold (list_frame_files' extensions). WebP's size is left to
// OpenCV's own limit (2^30 pixels), as its header takes a codec-specific parse.
struct ImageHeader {
  enum class Format { Jpeg, Png, Bmp, Webp };
  Format format = Format::Jpeg;
  int width = 0, height = 0;  // 0 for WebP
};

// Parses the header of the `size` encoded bytes at `data` (a whole file). Throws cma::Error naming
// `name` when the bytes are none of the four formats, or a JPEG, PNG or BMP is malformed,
// truncated (JPEG, PNG: no end marker), has a zero side, or a side above kMaxImageSide.
ImageHeader check_image_header(const uint8_t* data, size_t size, const std::string& name);

}  // namespace cma::data
