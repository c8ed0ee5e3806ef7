#include "cma/model/clip_config.h"

#include <set>
#include <sstream>

#include "cma/core/error.h"

namespace cma::model {

ClipConfig ClipConfig::preset(const std::string& name) {
  ClipConfig c;  // in-class defaults are ViT-B/32
  if (name == "ViT-B/32") return c;
  if (name == "ViT-B/16") {
    c.vision_patch_size = 16;
    return c;
  }
  if (name == "small") {  // a few-million-parameter model for demos on a laptop
    c.embed_dim = 128;
    c.image_resolution = 64;
    c.vision_layers = 4;
    c.vision_width = 128;
    c.vision_patch_size = 16;
    c.transformer_width = 128;
    c.transformer_heads = 2;
    c.transformer_layers = 4;
    return c;
  }
  if (name == "tiny") {  // seconds per step on one core: for tests
    c.embed_dim = 64;
    c.image_resolution = 32;
    c.vision_layers = 2;
    c.vision_width = 128;
    c.vision_patch_size = 16;
    c.transformer_width = 64;
    c.transformer_heads = 1;
    c.transformer_layers = 2;
    return c;
  }
  std::string known;
  for (const auto& n : preset_names()) known += (known.empty() ? "" : ", ") + n;
  throw Error("unknown model name '" + name + "'; known: " + known);
}

std::vector<std::string> ClipConfig::preset_names() { return {"ViT-B/32", "ViT-B/16", "small", "tiny"}; }

int count_layers(const std::vector<std::string>& names, const std::string& prefix) {
  std::set<int> layers;
  for (const auto& n : names) {
    if (n.compare(0, prefix.size(), prefix) != 0) continue;
    const auto rest = n.substr(prefix.size());
    const auto dot = rest.find('.');
    if (dot == std::string::npos || dot == 0) continue;
    try {
      layers.insert(std::stoi(rest.substr(0, dot)));
    } catch (const std::exception&) {
    }
  }
  return static_cast<int>(layers.size());
}

nlohmann::json ClipConfig::to_json() const {
  return {{"embed_dim", embed_dim},
          {"image_resolution", image_resolution},
          {"vision_layers", vision_layers},
          {"vision_width", vision_width},
          {"vision_patch_size", vision_patch_size},
          {"context_length", context_length},
          {"vocab_size", vocab_size},
          {"transformer_width", transformer_width},
          {"transformer_heads", transformer_heads},
          {"transformer_layers", transformer_layers}};
}

ClipConfig ClipConfig::from_json(const nlohmann::json& j) {
  ClipConfig c;
  c.embed_dim = j.at("embed_dim");
  c.image_resolution = j.at("image_resolution");
  c.vision_layers = j.at("vision_layers");
  c.vision_width = j.at("vision_width");
  c.vision_patch_size = j.at("vision_patch_size");
  c.context_length = j.at("context_length");
  c.vocab_size = j.at("vocab_size");
  c.transformer_width = j.at("transformer_width");
  c.transformer_heads = j.value("transformer_heads", c.transformer_width / 64);
  c.transformer_layers = j.at("transformer_layers");
  c.validate();
  return c;
}

void ClipConfig::validate() const {
  auto positive = [](int v, const char* name) {
    require(v > 0, std::string("model config: ") + name + " must be positive, got " + std::to_string(v));
  };
  positive(embed_dim, "embed_dim");
  positive(vision_layers, "vision_layers");
  positive(transformer_layers, "transformer_layers");
  positive(vision_patch_size, "vision_patch_size");
  positive(vocab_size, "vocab_size");
  positive(context_length, "context_length");
  require(vision_width >= 64 && vision_width % 64 == 0,
          "model config: vision_width " + std::to_string(vision_width) +
              " must be a positive multiple of 64 (heads are width / 64)");
  require(transformer_width >= 64 && transformer_width % 64 == 0,
          "model config: transformer_width " + std::to_string(transformer_width) +
              " must be a positive multiple of 64 (heads are width / 64)");
  require(image_resolution % vision_patch_size == 0,
          "model config: image_resolution " + std::to_string(image_resolution) +
              " is not a multiple of the patch size " + std::to_string(vision_patch_size));
  require(vision_layers <= transformer_layers,
          "model config: the adapters need vision layers (" + std::to_string(vision_layers) +
              ") <= text layers (" + std::to_string(transformer_layers) + ")");
}

std::string ClipConfig::describe() const {
  std::ostringstream s;
  s << "vision " << vision_layers << "x" << vision_width << " (" << vision_heads() << " heads, patch "
    << vision_patch_size << ", " << image_resolution << "px, " << vision_tokens() << " tokens), text "
    << transformer_layers << "x" << transformer_width << " (" << transformer_heads << " heads, context "
    << context_length << ", vocab " << vocab_size << "), embed " << embed_dim;
  return s.str();
}

}  // namespace cma::model
