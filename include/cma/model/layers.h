// CLIP's transformer pieces with OpenAI's module names (attn.in_proj_weight, mlp.c_fc, ln_1, ...),
// so that named_parameters() equals the checkpoint's state-dict keys.
#pragma once
#include <torch/nn/module.h>
#include <torch/nn/modules/container/modulelist.h>
#include <torch/nn/modules/linear.h>
#include <torch/nn/modules/normalization.h>

#include "cma/model/adapter.h"

namespace cma::model {

// Bitwise-repeatable runs on CUDA (--deterministic): LibTorch's deterministic kernels (index
// backward without atomics, cuBLAS with a fixed workspace) and attention through the unfused path,
// whose kernels are all deterministic; the fused kernels' backward may add in any order. Slower,
// and more memory: the attention scores are stored. The CPU path is deterministic either way.
void use_deterministic_algorithms(bool on);

// LayerNorm computed in fp32 and cast back (the reference's fp16-safe LayerNorm; a no-op cast in fp32).
torch::Tensor layer_norm_fp32(const torch::Tensor& x, const torch::nn::LayerNorm& ln);

class AttentionImpl : public torch::nn::Module {
 public:
  AttentionImpl(int width, int heads);
  // q_in [B, Q, D] queries, kv_in [B, T, D] keys/values, mask additive [Q, T] / [B, Q, T] or undefined.
  torch::Tensor forward(const torch::Tensor& q_in, const torch::Tensor& kv_in, const torch::Tensor& mask);

  torch::Tensor in_proj_weight;  // [3D, D]: q, k, v stacked
  torch::Tensor in_proj_bias;    // [3D]
  torch::nn::Linear out_proj{nullptr};
  int heads;
};
TORCH_MODULE(Attention);

class MlpImpl : public torch::nn::Module {
 public:
  explicit MlpImpl(int width);
  torch::Tensor forward(const torch::Tensor& x);  // c_proj(QuickGELU(c_fc(x)))
  torch::nn::Linear c_fc{nullptr}, c_proj{nullptr};
};
TORCH_MODULE(Mlp);

class ResidualBlockImpl : public torch::nn::Module {
 public:
  ResidualBlockImpl(int width, int heads);
  // x [B, T, D]. With `query_pos` [B] defined, only that token of each row is computed (it still
  // attends to all tokens) and the result is [B, 1, D]: the last block needs nothing else.
  torch::Tensor forward(const torch::Tensor& x, const torch::Tensor& mask, const AdapterBank& adapters,
                        int block, const torch::Tensor& query_pos = {});

  Attention attn{nullptr};
  torch::nn::LayerNorm ln_1{nullptr}, ln_2{nullptr};
  Mlp mlp{nullptr};
};
TORCH_MODULE(ResidualBlock);

class TransformerImpl : public torch::nn::Module {
 public:
  TransformerImpl(int width, int layers, int heads);
  // x [B, T, D] -> [B, T, D], or [B, 1, D] when `last_query_pos` [B] picks one token per row.
  torch::Tensor forward(torch::Tensor x, const torch::Tensor& mask, const AdapterBank& adapters,
                        const torch::Tensor& last_query_pos = {});
  int layers() const { return static_cast<int>(resblocks->size()); }

  torch::nn::ModuleList resblocks{nullptr};
  // Training keeps only each block's input (the last block's activations are small and kept) and
  // recomputes the rest during backward: activation memory of one block instead of all of them,
  // for about one more forward pass of time.
  bool recompute = false;
};
TORCH_MODULE(Transformer);

}  // namespace cma::model
