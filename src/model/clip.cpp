#include "cma/model/clip.h"

#include <limits>

#include "cma/core/error.h"
#include "cma/model/cpu_gemm.h"
#include "cma/model/item_gemm.h"

namespace cma::model {
namespace {

const char* const kAdapterNames[] = {
    "visual_adapter_down_weight", "visual_adapter_down_bias",
    "visual_adapter_up_unique_weight", "visual_adapter_up_unique_bias",
    "text_adapter_down_weight", "text_adapter_down_bias",
    "text_adapter_up_unique_weight", "text_adapter_up_unique_bias",
    "vt_adapter_up_share_weight", "vt_adapter_up_share_bias"};

torch::Tensor param(const torch::nn::Module& m, const std::string& name) {
  // find() points into the dictionary, which must outlive the copy (ASan caught a temporary here).
  const auto params = m.named_parameters(false);
  const auto* p = params.find(name);
  return p ? *p : torch::Tensor();
}

}  // namespace

VisionTransformerImpl::VisionTransformerImpl(const ClipConfig& c) {
  const int D = c.vision_width;
  conv1 = register_module("conv1", torch::nn::Conv2d(torch::nn::Conv2dOptions(3, D, c.vision_patch_size)
                                                         .stride(c.vision_patch_size)
                                                         .bias(false)));
  class_embedding = register_parameter("class_embedding", torch::zeros({D}));
  positional_embedding = register_parameter("positional_embedding", torch::zeros({c.vision_tokens(), D}));
  ln_pre = register_module("ln_pre", torch::nn::LayerNorm(torch::nn::LayerNormOptions({D}).eps(1e-5)));
  transformer = register_module("transformer", Transformer(D, c.vision_layers, c.vision_heads()));
  ln_post = register_module("ln_post", torch::nn::LayerNorm(torch::nn::LayerNormOptions({D}).eps(1e-5)));
  proj = register_parameter("proj", torch::zeros({D, c.embed_dim}));
}

torch::Tensor VisionTransformerImpl::forward(const torch::Tensor& images, const AdapterBank& adapters,
                                             bool prune_last_block) {
  const auto dtype = conv1->weight.scalar_type();
  // The patch embedding: bf16 without a native path convolves in fp32 and rounds, like a product.
  auto x = emulate_bf16(conv1->weight)
               ? torch::conv2d(images.to(torch::kFloat), conv1->weight.to(torch::kFloat), {},
                               conv1->options.stride()).to(dtype)
               : conv1(images.to(dtype));                                // [BF, Dv, g, g]
  const int64_t BF = x.size(0), D = x.size(1);
  x = x.reshape({BF, D, -1}).permute({0, 2, 1});                         // [BF, g*g, Dv]
  auto cls = class_embedding.to(dtype).expand({BF, 1, D});               // [BF, 1, Dv]
  x = torch::cat({cls, x}, 1) + positional_embedding.to(dtype);          // [BF, T, Dv]
  x = layer_norm_fp32(x, ln_pre);                                        // [BF, T, Dv]
  // The last block computes the class token only: nothing else reaches the output.
  if (prune_last_block) {
    const auto cls_pos = torch::zeros({BF}, torch::TensorOptions().dtype(torch::kLong).device(x.device()));
    x = transformer(x, torch::Tensor(), adapters, cls_pos).squeeze(1);   // [BF, Dv]
  } else {
    x = transformer(x, torch::Tensor(), adapters).select(1, 0);          // [BF, Dv]
  }
  x = layer_norm_fp32(x, ln_post);                                       // [BF, Dv]
  return item_linear(x, proj.to(dtype).t(), {});                        // [BF, E]
}

ClipModelImpl::ClipModelImpl(const ClipConfig& config, const ModelOptions& options)
    : config_(config), options_(options) {
  config_.validate();
  options_.validate();
  const int ds = options_.adapter.share_dim;
  require(ds <= std::min(config_.vision_width, config_.transformer_width),
          "--adapter-share-dim " + std::to_string(ds) + " exceeds the " +
              (config_.vision_width < config_.transformer_width ? "vision width " : "text width ") +
              std::to_string(std::min(config_.vision_width, config_.transformer_width)));
  visual = register_module("visual", VisionTransformer(config_));
  transformer = register_module("transformer", Transformer(config_.transformer_width, config_.transformer_layers,
                                                           config_.transformer_heads));
  visual->transformer->recompute = transformer->recompute = options_.recompute;
  token_embedding = register_module("token_embedding",
                                    torch::nn::Embedding(config_.vocab_size, config_.transformer_width));
  positional_embedding =
      register_parameter("positional_embedding", torch::zeros({config_.context_length, config_.transformer_width}));
  ln_final = register_module(
      "ln_final", torch::nn::LayerNorm(torch::nn::LayerNormOptions({config_.transformer_width}).eps(1e-5)));
  text_projection = register_parameter("text_projection", torch::zeros({config_.transformer_width, config_.embed_dim}));
  logit_scale = register_parameter("logit_scale", torch::full({}, std::log(1.0 / 0.07)));
  register_adapters();
  init_adapters();
}

void ClipModelImpl::register_adapters() {
  const int r = options_.adapter.reduction_dims, ds = options_.adapter.share_dim;
  const int Kv = 2 * config_.vision_layers, Kt = 2 * config_.transformer_layers;
  const int Dv = config_.vision_width, Dt = config_.transformer_width;
  register_parameter("visual_adapter_down_weight", torch::zeros({Kv, r, Dv}));
  register_parameter("visual_adapter_down_bias", torch::zeros({Kv, r}));
  register_parameter("visual_adapter_up_unique_weight", torch::zeros({Kv, Dv - ds, r}));
  register_parameter("visual_adapter_up_unique_bias", torch::zeros({Kv, Dv - ds}));
  register_parameter("text_adapter_down_weight", torch::zeros({Kt, r, Dt}));
  register_parameter("text_adapter_down_bias", torch::zeros({Kt, r}));
  if (Dt > ds) {
    register_parameter("text_adapter_up_unique_weight", torch::zeros({Kt, Dt - ds, r}));
    register_parameter("text_adapter_up_unique_bias", torch::zeros({Kt, Dt - ds}));
  }
  if (ds > 0) {
    register_parameter("vt_adapter_up_share_weight", torch::zeros({Kt, ds, r}));
    register_parameter("vt_adapter_up_share_bias", torch::zeros({Kt, ds}));
  }
}

bool ClipModelImpl::is_adapter_name(const std::string& name) {
  for (const char* n : kAdapterNames) {
    if (name == n) return true;
  }
  return false;
}

std::map<std::string, torch::Tensor> ClipModelImpl::adapter_tensors() const {
  std::map<std::string, torch::Tensor> out;
  for (const char* n : kAdapterNames) {
    auto t = param(*this, n);
    if (t.defined()) out[n] = t;
  }
  return out;
}

std::map<std::string, torch::Tensor> ClipModelImpl::backbone_tensors() const {
  std::map<std::string, torch::Tensor> out;
  for (const auto& kv : named_parameters(true)) {
    if (!is_adapter_name(kv.key())) out[kv.key()] = kv.value();
  }
  return out;
}

void ClipModelImpl::freeze_backbone() {
  for (auto& kv : named_parameters(true)) kv.value().set_requires_grad(is_adapter_name(kv.key()));
}

void ClipModelImpl::init_adapters() {
  torch::NoGradGuard no_grad;
  const double std = options_.adapter.init_std;
  for (auto& kv : adapter_tensors()) {
    auto& t = kv.second;
    if (kv.first.find("bias") != std::string::npos) {
      t.zero_();
    } else {
      // Truncated normal on [-2, 2] (absolute, as torch.nn.init.trunc_normal_'s defaults):
      // inverse-CDF sampling of a uniform draw, the same method PyTorch uses.
      const double lo = 0.5 * (1.0 + std::erf(-2.0 / std / std::sqrt(2.0)));
      const double hi = 0.5 * (1.0 + std::erf(2.0 / std / std::sqrt(2.0)));
      t.uniform_(2 * lo - 1, 2 * hi - 1).erfinv_().mul_(std * std::sqrt(2.0)).clamp_(-2.0, 2.0);
    }
  }
}

void ClipModelImpl::apply_precision(const Precision& p) {
  torch::NoGradGuard no_grad;
  for (auto& kv : named_parameters(true)) {
    const auto& key = kv.key();
    const bool adapter = is_adapter_name(key);
    // Like the reference's convert_weights: matrices of Linear/Conv/attention and the two
    // projections go to the low-precision dtype; embeddings, LayerNorms and logit_scale stay fp32.
    const bool matrix = key.find("attn.") != std::string::npos || key.find("mlp.") != std::string::npos ||
                        key == "visual.conv1.weight" || key == "visual.proj" || key == "text_projection";
    const auto dtype = adapter ? p.adapters : matrix ? p.backbone : torch::kFloat;
    if (kv.value().scalar_type() != dtype) kv.value().set_data(kv.value().to(dtype));
  }
}

AdapterBank ClipModelImpl::bank(Encoder which) const {
  const bool vision = which == Encoder::Vision;
  const std::string p = vision ? "visual_adapter_" : "text_adapter_";
  return AdapterBank(param(*this, p + "down_weight"), param(*this, p + "down_bias"),
                     param(*this, p + "up_unique_weight"), param(*this, p + "up_unique_bias"),
                     param(*this, "vt_adapter_up_share_weight"), param(*this, "vt_adapter_up_share_bias"),
                     options_.adapter);
}

torch::Tensor ClipModelImpl::encode_text(const torch::Tensor& ids) {
  const int64_t L = ids.size(1);
  require(L <= config_.context_length, "captions of " + std::to_string(L) + " tokens exceed the model's context length " +
                                           std::to_string(config_.context_length));
  if (!causal_mask_.defined() || causal_mask_.size(0) != L || causal_mask_.device() != ids.device()) {
    causal_mask_ = torch::full({L, L}, -std::numeric_limits<float>::infinity(),
                               torch::TensorOptions().device(ids.device()))
                       .triu_(1);  // [L, L]: -inf strictly above the diagonal
  }
  const auto dtype = transformer->resblocks->ptr<ResidualBlockImpl>(0)->attn->in_proj_weight.scalar_type();
  auto x = token_embedding(ids) + positional_embedding.slice(0, 0, L);  // [B, L, Dt]
  x = x.to(dtype);
  // The caption embedding is read at the end token (the largest id); the last block computes only it.
  const auto eot = ids.argmax(-1);                                         // [B]
  if (prune_last_block) {
    x = transformer(x, causal_mask_, bank(Encoder::Text), eot).squeeze(1);  // [B, Dt]
  } else {
    x = transformer(x, causal_mask_, bank(Encoder::Text));                  // [B, L, Dt]
    x = x.index({torch::arange(x.size(0), eot.options()), eot});            // [B, Dt]
  }
  x = layer_norm_fp32(x, ln_final);                                        // [B, Dt]
  return item_linear(x, text_projection.to(dtype).t(), {}).to(torch::kFloat);  // [B, E]
}

torch::Tensor ClipModelImpl::encode_video(const torch::Tensor& video) {
  const int64_t B = video.size(0), F = video.size(1);
  auto frames = video.reshape({B * F, video.size(2), video.size(3), video.size(4)});  // [BF, 3, R, R]
  const ItemGroupScope video_items(F);  // evaluation: one product per video, not per frame
  auto emb = visual->forward(frames, bank(Encoder::Vision), prune_last_block);          // [BF, E]
  return emb.to(torch::kFloat).view({B, F, -1});                                       // [B, F, E]
}

int64_t count_adapter_parameters(const ClipConfig& c, const AdapterOptions& a) {
  const int64_t r = a.reduction_dims, ds = a.share_dim;
  const int64_t Kv = 2 * c.vision_layers, Kt = 2 * c.transformer_layers;
  const int64_t Dv = c.vision_width, Dt = c.transformer_width;
  return Kv * (r * Dv + r) + Kv * ((Dv - ds) * r + (Dv - ds)) + Kt * (r * Dt + r) +
         Kt * ((Dt - ds) * r + (Dt - ds)) + Kt * (ds * r + ds);
}

}  // namespace cma::model
