#include "cma/data/batch_tensors.h"

#include "cma/data/image.h"

namespace cma::data {

torch::Tensor normalize_frames(const torch::Tensor& hwc_uint8) {
  const auto opts = torch::TensorOptions().dtype(torch::kFloat).device(hwc_uint8.device());
  const auto mean = torch::tensor({kClipMean[0], kClipMean[1], kClipMean[2]}, opts).view({3, 1, 1});
  const auto std = torch::tensor({kClipStd[0], kClipStd[1], kClipStd[2]}, opts).view({3, 1, 1});
  const int64_t n = hwc_uint8.dim();
  auto x = hwc_uint8.movedim(n - 1, n - 3).to(torch::kFloat).div_(255.0f);  // [..., 3, S, S]
  return x.sub_(mean).div_(std);
}

namespace {

// A copy of host memory on `device`. To a GPU it goes through page-locked memory and returns before
// the copy ends (the stream orders it before the step's kernels), so the host can assemble the next
// batch meanwhile; the pinned staging tensor lives until the copy is done (the caching host
// allocator tracks it).
torch::Tensor to_device(const torch::Tensor& host, const torch::Device& device) {
  if (device.is_cuda()) return host.pin_memory().to(device, /*non_blocking=*/true);
  return host.to(device, /*non_blocking=*/false, /*copy=*/true);
}

}  // namespace

TensorBatch to_tensors(const Batch& b, const torch::Device& device) {
  auto i64 = torch::TensorOptions().dtype(torch::kLong);
  TensorBatch t;
  t.ids = to_device(torch::from_blob(const_cast<int64_t*>(b.ids.data()), {b.B, b.L}, i64), device);
  t.text_mask = to_device(torch::from_blob(const_cast<int64_t*>(b.text_mask.data()), {b.B, b.L}, i64), device);
  t.frame_mask = to_device(torch::from_blob(const_cast<int64_t*>(b.frame_mask.data()), {b.B, b.F}, i64), device);
  // uint8 travels (a quarter of float32's bytes); the device normalises.
  auto frames = to_device(
      torch::from_blob(const_cast<uint8_t*>(b.frames.data()), {b.B, b.F, b.S, b.S, 3}, torch::kUInt8), device);
  t.video = normalize_frames(frames).contiguous();  // [B, F, 3, S, S]
  return t;
}

}  // namespace cma::data
