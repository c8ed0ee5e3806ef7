// Backbone weights in (OpenAI TorchScript archive, plain state dict, safetensors, or seeded random)
// and adapter files in and out (safetensors with the reference's tensor names and a versioned header).
#pragma once
#include <cstdint>
#include <map>
#include <string>

#include "cma/core/tensor_io.h"
#include "cma/model/clip.h"

namespace cma::model {

constexpr const char* kAdapterFormat = "cma-adapters";
// 1: the first layout. 2: the same, always with a checksum (st::kChecksumKey); a version-2 file
// without one is refused as damaged, a version-1 file is still read.
constexpr int kAdapterFormatVersion = 2;

// Every tensor of a weights file exactly as stored (names, dtypes, shapes; nothing dropped):
// ".safetensors" is memory-mapped and runs no code; anything else is tried as a TorchScript
// archive (torch::jit::load compiles the code it carries), then as a torch.save'd state dict
// (LibTorch's restricted unpickler). `cma convert` writes what this returns as safetensors.
TensorMap read_weights_file(const std::string& path);

// Reads a backbone: ".safetensors" (keys as OpenAI's, optionally under "backbone."), else a
// TorchScript archive such as OpenAI's ViT-B-32.pt, else a torch.save'd state dict. The archive's
// scalar entries input_resolution, context_length and vocab_size are dropped.
TensorMap read_backbone(const std::string& path);

// Resolves --pretrained_clip_name: "random:<preset>" and existing paths pass through; a model name
// such as ViT-B/32 maps to ~/.cache/clip/ViT-B-32.safetensors (what `cma convert` wrote) when it
// exists, else to ~/.cache/clip/ViT-B-32.pt as the reference's clip.load does. A missing file is
// an error that says where it looked and where the file comes from.
std::string resolve_weights(const std::string& name);

// A spec is "random:<preset>" (seeded CLIP-style init) or a weights file path.
// Builds the model with architecture read from the weights, loads them, freezes the backbone.
// Everything is fp32 on the CPU: callers apply a Precision (model/precision.h) and move it.
ClipModel build_model(const std::string& spec, const ModelOptions& options, uint64_t seed);

// Copies a state dict into the model's backbone. Missing or extra keys and shape mismatches fail
// naming the key and both shapes. Values are converted to each parameter's dtype.
void load_backbone(ClipModelImpl& model, const TensorMap& weights, const std::string& source);

// CLIP's own initialisation scheme (normal with CLIP's stds), for demos and tests.
void random_init_backbone(ClipModelImpl& model);

// The backbone (no adapters) as fp32 safetensors in OpenAI's tensor names, with a checksum: what
// --tune full trained, readable by --pretrained_clip_name like a converted ViT-B-32.pt.
void save_backbone(const ClipModelImpl& model, const std::string& path,
                   const std::map<std::string, std::string>& metadata = {});

// Adapter files: reference tensor names, metadata format/version/r/ds/activation/widths/layers.
void save_adapters(const ClipModelImpl& model, const std::string& path,
                   const std::map<std::string, std::string>& extra_metadata = {});
// Loads adapters, refusing with a cma::Error that names the file and what is wrong: a damaged file
// (checksum), a tensor that is not F32/F16/BF16 or holds NaN or infinity (named), metadata r, ds,
// activation or backbone dimensions other than the run's (the key and the flag to change), and a
// tensor of another shape (the tensor and both shapes).
void load_adapters(ClipModelImpl& model, const std::string& path);

// Copies named tensors into the model's adapters (shapes must match exactly).
void assign_adapters(ClipModelImpl& model, const TensorMap& tensors, const std::string& source);

}  // namespace cma::model
