#include "cma/model/layers.h"

#include <torch/csrc/autograd/autograd.h>
#include <torch/csrc/autograd/function.h>
#include <torch/csrc/autograd/functions/utils.h>
#include <torch/version.h>

#include <atomic>
#include <cstdlib>
#include <functional>
#include <string>

#include "cma/core/error.h"
#include "cma/core/log.h"
#include "cma/model/cpu_gemm.h"
#include "cma/model/item_gemm.h"

namespace cma::model {

void use_deterministic_algorithms(bool on) {
  // cuBLAS repeats its sums only with a fixed workspace; it reads this before its first handle.
  if (on) ::setenv("CUBLAS_WORKSPACE_CONFIG", ":4096:8", 0);
  // warn_only: an operation with no deterministic kernel warns, naming itself, rather than stopping
  // a run; the bitwise resume test on the GPU catches any that changes bits.
  at::globalContext().setDeterministicAlgorithms(on, /*warn_only=*/true);
}

namespace {

#if TORCH_VERSION_MAJOR >= 2
// Which attention kernel ran on CUDA, said once per process for each path: flash, memory-efficient and cuDNN
// differ in memory and speed, and only the unfused path repeats its bits.
void log_cuda_attention(const torch::Tensor& q, const torch::Tensor& k, const torch::Tensor& v,
                        const c10::optional<torch::Tensor>& mask, bool fused) {
  static std::atomic<bool> said[2] = {false, false};
  if (said[fused].exchange(true)) return;
  if (!fused) {
    log::info("model", "attention on CUDA: unfused (math), for --deterministic");
    return;
  }
  static const char* const names[] = {"math", "flash attention", "memory-efficient attention", "cuDNN attention"};
  const int64_t choice = at::_fused_sdp_choice(q, k, v, mask, 0.0, false, 1.0);
  log::info("model", "attention on CUDA: fused scaled_dot_product_attention, {} backend",
            choice >= 0 && choice < 4 ? names[choice] : ("#" + std::to_string(choice)).c_str());
}
#endif

}  // namespace

torch::Tensor layer_norm_fp32(const torch::Tensor& x, const torch::nn::LayerNorm& ln) {
  const auto& o = ln->options;
  auto y = torch::layer_norm(x.to(torch::kFloat), o.normalized_shape(), ln->weight, ln->bias, o.eps());
  return y.to(x.scalar_type());
}

AttentionImpl::AttentionImpl(int width, int heads_) : heads(heads_) {
  in_proj_weight = register_parameter("in_proj_weight", torch::empty({3 * width, width}));
  in_proj_bias = register_parameter("in_proj_bias", torch::zeros({3 * width}));
  out_proj = register_module("out_proj", torch::nn::Linear(width, width));
}

torch::Tensor AttentionImpl::forward(const torch::Tensor& q_in, const torch::Tensor& kv_in,
                                     const torch::Tensor& mask) {
  const int64_t B = q_in.size(0), Q = q_in.size(1), T = kv_in.size(1), D = q_in.size(2);
  const int64_t hd = D / heads;
  torch::Tensor q, k, v;
  if (q_in.is_same(kv_in)) {  // self-attention over all tokens: one packed GEMM
    const auto qkv = item_linear(q_in, in_proj_weight, in_proj_bias).chunk(3, -1);  // 3 x [B, T, D]
    q = qkv[0], k = qkv[1], v = qkv[2];
  } else {  // pruned last block: queries for a few tokens, keys and values for all
    const auto w = in_proj_weight.chunk(3, 0);                                         // 3 x [D, D]
    const auto b = in_proj_bias.chunk(3, 0);                                           // 3 x [D]
    q = item_linear(q_in, w[0], b[0]);                                               // [B, Q, D]
    const auto kv = item_linear(kv_in, in_proj_weight.slice(0, D), in_proj_bias.slice(0, D)).chunk(2, -1);
    k = kv[0], v = kv[1];                                                              // [B, T, D] each
  }
  // PyTorch's MHA scales q before the product; doing the same keeps rounding close to the reference.
  q = q * (1.0 / std::sqrt(static_cast<double>(hd)));                                  // [B, Q, D]
  q = q.reshape({B, Q, heads, hd}).transpose(1, 2);                                        // [B, H, Q, hd]
  k = k.reshape({B, T, heads, hd}).transpose(1, 2);                                        // [B, H, T, hd]
  v = v.reshape({B, T, heads, hd}).transpose(1, 2);                                        // [B, H, T, hd]
#if TORCH_VERSION_MAJOR >= 2
  if (q.is_cuda()) {
    // Fused attention on the GPU (LibTorch 2.x): the [B, H, Q, T] scores never reach memory. q is
    // already scaled, hence scale 1. Under --deterministic the unfused path below runs instead.
    c10::optional<torch::Tensor> m;
    if (mask.defined()) m = (mask.dim() == 3 ? mask.unsqueeze(1) : mask).to(q.scalar_type());
    const bool fused = !at::globalContext().deterministicAlgorithms();
    log_cuda_attention(q, k, v, m, fused);
    if (fused) {
      auto out = at::scaled_dot_product_attention(q, k, v, m, 0.0, false, 1.0);              // [B, H, Q, hd]
      out = out.transpose(1, 2).reshape({B, Q, D});                                         // [B, Q, D]
      return item_linear(out, out_proj->weight, out_proj->bias);                          // [B, Q, D]
    }
  }
#endif
  auto scores = cpu_matmul(q, k.transpose(-2, -1));                                        // [B, H, Q, T]
  if (mask.defined()) scores = scores + (mask.dim() == 3 ? mask.unsqueeze(1) : mask).to(scores.scalar_type());
  auto probs = torch::softmax(scores, -1);                                                 // [B, H, Q, T]
  auto out = cpu_matmul(probs, v);                                                         // [B, H, Q, hd]
  out = out.transpose(1, 2).reshape({B, Q, D});                                            // [B, Q, D]
  return item_linear(out, out_proj->weight, out_proj->bias);                             // [B, Q, D]
}

MlpImpl::MlpImpl(int width) {
  c_fc = register_module("c_fc", torch::nn::Linear(width, 4 * width));
  c_proj = register_module("c_proj", torch::nn::Linear(4 * width, width));
}

torch::Tensor MlpImpl::forward(const torch::Tensor& x) {
  // QuickGELU(z) = z * sigmoid(1.702 z) = silu(1.702 z) / 1.702. The two scalings are folded into
  // the (small) weight matrices instead of the (large) activations, leaving one fused elementwise
  // op per direction: the MLP's activation was the largest non-GEMM cost of a training step.
  constexpr double k = 1.702;
  auto h = item_linear(x, c_fc->weight * k, c_fc->bias * k);  // [B, T, 4D] = 1.702 * c_fc(x)
  h = torch::silu(h);                                            // [B, T, 4D] = 1.702 * QuickGELU(c_fc(x))
  return item_linear(h, c_proj->weight / k, c_proj->bias);    // [B, T, D]
}

ResidualBlockImpl::ResidualBlockImpl(int width, int heads) {
  attn = register_module("attn", Attention(width, heads));
  ln_1 = register_module("ln_1", torch::nn::LayerNorm(torch::nn::LayerNormOptions({width}).eps(1e-5)));
  mlp = register_module("mlp", Mlp(width));
  ln_2 = register_module("ln_2", torch::nn::LayerNorm(torch::nn::LayerNormOptions({width}).eps(1e-5)));
}

torch::Tensor ResidualBlockImpl::forward(const torch::Tensor& x, const torch::Tensor& mask,
                                         const AdapterBank& adapters, int block,
                                         const torch::Tensor& query_pos) {
  const auto normed = layer_norm_fp32(x, ln_1);  // [B, T, D]
  torch::Tensor residual = x, queries = normed, row_mask = mask;
  if (query_pos.defined()) {
    const auto rows = torch::arange(x.size(0), query_pos.options());
    residual = x.index({rows, query_pos}).unsqueeze(1);       // [B, 1, D]
    queries = normed.index({rows, query_pos}).unsqueeze(1);   // [B, 1, D]
    if (mask.defined()) row_mask = mask.index_select(0, query_pos).unsqueeze(1);  // [B, 1, T]
  }
  auto a = attn(queries, normed, row_mask);  // [B, Q, D]
  if (adapters.enabled()) a = adapters.apply(2 * block, a, is_training());
  auto h = residual + a;                     // [B, Q, D]
  auto m = mlp(layer_norm_fp32(h, ln_2));    // [B, Q, D]
  if (adapters.enabled()) m = adapters.apply(2 * block + 1, m, is_training());
  return h + m;                              // [B, Q, D]
}

TransformerImpl::TransformerImpl(int width, int layers, int heads) {
  resblocks = register_module("resblocks", torch::nn::ModuleList());
  for (int i = 0; i < layers; ++i) resblocks->push_back(ResidualBlock(width, heads));
}

namespace {

// The backward of a block whose forward ran without autograd: it reruns the block with autograd on
// its saved input and back-propagates through that, which accumulates the adapters' gradients into
// their .grad (a nested backward, as PyTorch's reentrant checkpointing does) and returns the
// gradient of the input.
class RecomputedBlock final : public torch::autograd::Node {
 public:
  RecomputedBlock(std::function<torch::Tensor(const torch::Tensor&)> run, torch::Tensor input)
      : run_(std::move(run)), input_(std::move(input)) {}

  torch::autograd::variable_list apply(torch::autograd::variable_list&& grads) override {
    require(run_ != nullptr, "a recomputed block was back-propagated twice (its inputs are released)");
    const bool input_grad = task_should_compute_output(0);
    torch::Tensor x = input_.detach().requires_grad_(input_grad);
    torch::Tensor out;
    {
      torch::AutoGradMode on(true);
      out = run_(x);
    }
    torch::autograd::backward({out}, {grads.at(0)});
    return {input_grad ? x.grad() : torch::Tensor()};
  }
  void release_variables() override {
    input_.reset();
    run_ = nullptr;
  }

 private:
  std::function<torch::Tensor(const torch::Tensor&)> run_;
  torch::Tensor input_;
};

// `run(x)` without keeping its activations; the result's backward recomputes them.
torch::Tensor run_recomputed(const std::function<torch::Tensor(const torch::Tensor&)>& run, const torch::Tensor& x) {
  torch::Tensor out;
  {
    torch::NoGradGuard no_grad;
    out = run(x);
  }
  auto node = std::shared_ptr<RecomputedBlock>(new RecomputedBlock(run, x.detach()), torch::autograd::deleteNode);
  node->set_next_edges(torch::autograd::collect_next_edges(x));
  torch::autograd::set_history(out, node);
  return out;
}

}  // namespace

torch::Tensor TransformerImpl::forward(torch::Tensor x, const torch::Tensor& mask,
                                       const AdapterBank& adapters, const torch::Tensor& last_query_pos) {
  const int n = layers();
  const bool recomputing = recompute && torch::GradMode::is_enabled() && is_training();
  for (int i = 0; i < n; ++i) {
    auto block = resblocks->ptr<ResidualBlockImpl>(i);
    if (recomputing && i < n - 1) {
      // The bank and the mask are copied in: backward runs after this call has returned.
      x = run_recomputed([block, mask, adapters, i](const torch::Tensor& in) { return block->forward(in, mask, adapters, i); },
                         x);
    } else {
      x = block->forward(x, mask, adapters, i, i == n - 1 ? last_query_pos : torch::Tensor());
    }
  }
  return x;  // [B, T, D] or [B, 1, D]
}

}  // namespace cma::model
