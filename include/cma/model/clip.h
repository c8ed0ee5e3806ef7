// CLIP ViT (vision + text) with cross-modal adapters. Parameter names are OpenAI's state-dict keys
// plus the reference's adapter names, so named_parameters() is a straight map to both files.
#pragma once
#include <torch/nn/module.h>
#include <torch/nn/modules/conv.h>
#include <torch/nn/modules/embedding.h>

#include <map>
#include <string>
#include <vector>

#include "cma/model/clip_config.h"
#include "cma/model/layers.h"
#include "cma/model/options.h"
#include "cma/model/precision.h"

namespace cma::model {

class VisionTransformerImpl : public torch::nn::Module {
 public:
  explicit VisionTransformerImpl(const ClipConfig& c);
  // images [BF, 3, R, R] -> frame embeddings [BF, E]. With `prune_last_block` the last block
  // computes the class token only (exact: nothing else reaches the output).
  torch::Tensor forward(const torch::Tensor& images, const AdapterBank& adapters, bool prune_last_block = true);

  torch::nn::Conv2d conv1{nullptr};
  torch::Tensor class_embedding;       // [Dv]
  torch::Tensor positional_embedding;  // [T, Dv]
  torch::nn::LayerNorm ln_pre{nullptr}, ln_post{nullptr};
  Transformer transformer{nullptr};
  torch::Tensor proj;                  // [Dv, E]
};
TORCH_MODULE(VisionTransformer);

class ClipModelImpl : public torch::nn::Module {
 public:
  ClipModelImpl(const ClipConfig& config, const ModelOptions& options);

  // ids [B, L] (end token = largest id) -> caption embeddings [B, E], fp32
  torch::Tensor encode_text(const torch::Tensor& ids);
  // video [B, F, 3, R, R] -> frame embeddings [B, F, E], fp32
  torch::Tensor encode_video(const torch::Tensor& video);

  const ClipConfig& config() const { return config_; }
  const ModelOptions& options() const { return options_; }

  // Adapter tensors by reference name (only those that exist for this r, ds).
  std::map<std::string, torch::Tensor> adapter_tensors() const;
  // Backbone tensors by OpenAI name.
  std::map<std::string, torch::Tensor> backbone_tensors() const;
  static bool is_adapter_name(const std::string& name);
  // Only adapter tensors require gradients; logit_scale stays frozen (docs/reference.md §2).
  void freeze_backbone();
  // Truncated-normal adapter weights (std from the options, cut at +-2), zero biases.
  void init_adapters();
  // Casts the backbone's matrices to p.backbone, keeping embeddings, LayerNorms and logit_scale
  // in fp32 like the reference's convert_weights, and the adapters to p.adapters.
  void apply_precision(const Precision& p);

  // Exact saving: the last block computes only the tokens that reach the output (class token,
  // end token). Off only to measure the saving against the unpruned computation.
  bool prune_last_block = true;

  VisionTransformer visual{nullptr};
  Transformer transformer{nullptr};
  torch::nn::Embedding token_embedding{nullptr};
  torch::Tensor positional_embedding;  // [context, Dt]
  torch::nn::LayerNorm ln_final{nullptr};
  torch::Tensor text_projection;       // [Dt, E]
  torch::Tensor logit_scale;           // [] (log of the similarity scale)

 private:
  void register_adapters();
  AdapterBank bank(Encoder which) const;

  ClipConfig config_;
  ModelOptions options_;
  torch::Tensor causal_mask_;          // [L, L] for the last L used, rebuilt when L changes
};
TORCH_MODULE(ClipModel);

// The adapter parameter count for a config and options (519,168 for ViT-B/32, r=8, ds=16).
int64_t count_adapter_parameters(const ClipConfig& c, const AdapterOptions& a);

}  // namespace cma::model
