// Frame images without LibTorch: decoding (TurboJPEG for JPEG, OpenCV for the rest) and CLIP's
// preprocessing up to the normalised float tensor (pure C++, pil_resize.cpp).
//
// The reference transform is torchvision's Resize(224, BICUBIC) > CenterCrop(224) > RGB > ToTensor >
// Normalize on PIL images (docs/reference.md §9). PIL's bicubic antialiases when shrinking and rounds to
// 8 bits between its horizontal and vertical passes; both matter numerically, so the resampler here
// reproduces Pillow 9's fixed-point ImagingResample rather than calling OpenCV's resize.
//
// Layout legend: HWC = rows of interleaved pixels (height, width, channel); CHW = planar channels.
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace cma::data {

// An 8-bit image, HWC interleaved. channels: 1 (grey), 3 (R,G,B order) or 4 (R,G,B,A).
struct Image {
  int width = 0, height = 0, channels = 0;
  std::vector<uint8_t> pixels;  // [height, width, channels]
};

// CLIP's normalisation constants (openai/CLIP's _transform), per RGB channel.
inline constexpr float kClipMean[3] = {0.48145466f, 0.4578275f, 0.40821073f};
inline constexpr float kClipStd[3] = {0.26862954f, 0.26130258f, 0.27577711f};

// Decodes an image file the way PIL's Image.open sees its pixels: no EXIF rotation, grey stays one
// channel, colour comes out RGB or RGBA, 16-bit samples are scaled to 8 bits, palette images are
// expanded to RGB(A). Throws cma::Error naming the path when the file cannot be read or decoded.
// Builds without OpenCV (CMA_WITH_OPENCV) read grey and colour JPEG only (TurboJPEG).
Image decode_image(const std::string& path);
// The same from encoded bytes in memory; `name_for_errors` names the source in error messages.
Image decode_image_bytes(const uint8_t* data, size_t size, const std::string& name_for_errors);

// Resizes to out_w x out_h exactly as Pillow 9's Image.resize(..., BICUBIC): separable cubic
// (a = -0.5) with antialiasing support when shrinking, 22-bit fixed-point weights, horizontal pass
// first with 8-bit rounding and clipping before the vertical pass. RGBA is resized premultiplied
// and un-premultiplied afterwards, as Pillow does. Throws cma::Error on an invalid image or size.
Image pil_resize_bicubic(const Image& in, int out_w, int out_h);

// The output size of torchvision's Resize(size) for a w x h image: the shorter side becomes `size`,
// the longer int(size * long / short). An image whose shorter side already equals size is unchanged.
void clip_resize_dims(int w, int h, int size, int* out_w, int* out_h);

// CLIP's transform up to uint8: Resize(size, bicubic) > CenterCrop(size) > RGB (grey replicated,
// alpha dropped). Only the cropped window is resampled, so it costs no more than a size x size
// resize. Returns size * size * 3 bytes, HWC RGB.
std::vector<uint8_t> clip_resize_crop(const Image& in, int size = 224);

// ToTensor > Normalize(kClipMean, kClipStd): uint8 HWC RGB [size, size, 3] -> float CHW
// [3, size, size], written to chw_out (3 * size * size floats), same float32 arithmetic as torch.
void normalize_clip(const uint8_t* hwc, int size, float* chw_out);

}  // namespace cma::data
