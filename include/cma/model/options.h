// Typed options for the model: adapter shape, retrieval head and precision. The JSON config and
// the CLI flags bind to these fields, so each default lives here and only here.
#pragma once
#include <string>

namespace cma::model {

struct AdapterOptions {
  int reduction_dims = 8;                 // r: bottleneck width (--adapter-reduction-dims)
  int share_dim = 16;                     // ds: up-projection columns shared by both encoders
  std::string non_linearity = "quick_gelu";  // quick_gelu | gelu | gelu_new | relu | swish | silu
  double dropout = 0.0;                   // dropout on the bottleneck activations
  double init_std = 0.01;                 // truncated-normal std of adapter weights (cut at +-2)
  bool convert2fp16 = false;              // adapters stored and computed in the backbone dtype

  // Checks values that do not depend on the backbone; throws naming the flag.
  void validate() const;
};

struct HeadOptions {
  bool q_score = true;    // text-conditioned frame pooling (true) or mean pooling "meanP" (false)
  double q_score_temp = 5.0;  // softmax temperature of q_score pooling
  void validate() const;
};

struct ModelOptions {
  std::string pretrained_clip_name = "ViT-B/32";  // weights: a model name, a file, or random:<preset>
  AdapterOptions adapter;
  HeadOptions head;
  std::string precision = "auto";  // auto | fp32 | bf16 | fp16: the frozen backbone's dtype (model/precision.h)
  bool recompute = false;          // keep only each block's input; recompute its activations in backward
  void validate() const;
};

// True when `name` is one of the supported adapter activations.
bool is_known_activation(const std::string& name);

}  // namespace cma::model
