// Template part of ClipConfig::infer; included only by clip_config.h.
#pragma once
#include <cmath>

#include "cma/core/error.h"

namespace cma::model {

template <typename ShapeFn>
ClipConfig ClipConfig::infer(const std::vector<std::string>& names, ShapeFn shape_of) {
  auto need = [&](const std::string& key, size_t rank) {
    std::vector<int64_t> s = shape_of(key);
    require(s.size() == rank, "weights: tensor '" + key + "' is missing or does not have rank " +
                                  std::to_string(rank) + "; is this an OpenAI CLIP ViT checkpoint?");
    return s;
  };
  ClipConfig c;
  const auto conv = need("visual.conv1.weight", 4);        // [Dv, 3, p, p]
  const auto vpos = need("visual.positional_embedding", 2);  // [1 + grid^2, Dv]
  c.vision_width = static_cast<int>(conv[0]);
  c.vision_patch_size = static_cast<int>(conv[3]);
  const int grid = static_cast<int>(std::lround(std::sqrt(static_cast<double>(vpos[0] - 1))));
  c.image_resolution = grid * c.vision_patch_size;
  c.vision_layers = count_layers(names, "visual.transformer.resblocks.");
  c.embed_dim = static_cast<int>(need("text_projection", 2)[1]);
  c.context_length = static_cast<int>(need("positional_embedding", 2)[0]);
  c.vocab_size = static_cast<int>(need("token_embedding.weight", 2)[0]);
  c.transformer_width = static_cast<int>(need("ln_final.weight", 1)[0]);
  c.transformer_heads = c.transformer_width / 64;
  c.transformer_layers = count_layers(names, "transformer.resblocks.");
  c.validate();
  return c;
}

}  // namespace cma::model
