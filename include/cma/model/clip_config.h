// CLIP architecture, read from weights the way the reference's build_model does, or named presets.
#pragma once
#include <nlohmann/json.hpp>

#include <string>
#include <vector>

namespace cma::model {

struct ClipConfig {
  int embed_dim = 512;          // E
  int image_resolution = 224;   // input frame size
  int vision_layers = 12;       // Lv
  int vision_width = 768;       // Dv
  int vision_patch_size = 32;   // conv1 kernel and stride
  int context_length = 77;      // positional table length of the text encoder
  int vocab_size = 49408;
  int transformer_width = 512;  // Dt
  int transformer_heads = 8;    // Dt / 64
  int transformer_layers = 12;  // Lt

  int vision_heads() const { return vision_width / 64; }
  int grid() const { return image_resolution / vision_patch_size; }
  int vision_tokens() const { return grid() * grid() + 1; }

  // Named presets: "ViT-B/32", "ViT-B/16", and small random-weight shapes "tiny" and "small" for tests and demos.
  static ClipConfig preset(const std::string& name);
  static std::vector<std::string> preset_names();
  // From tensor names and shapes ("visual.conv1.weight" -> [Dv, 3, p, p], ...).
  // `shape_of(name)` returns {} when the tensor is absent; errors name the missing key.
  template <typename ShapeFn>
  static ClipConfig infer(const std::vector<std::string>& names, ShapeFn shape_of);

  nlohmann::json to_json() const;
  static ClipConfig from_json(const nlohmann::json& j);  // the parity fixtures' config keys
  void validate() const;
  std::string describe() const;  // one line for logs and `cma info`
};

// Counts how many layer indices appear under `prefix` ("visual.transformer.resblocks.").
int count_layers(const std::vector<std::string>& names, const std::string& prefix);

}  // namespace cma::model

#include "cma/model/clip_config_impl.h"
