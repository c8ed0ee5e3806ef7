#include "cma/model/options.h"

#include "cma/core/error.h"

namespace cma::model {

bool is_known_activation(const std::string& name) {
  return name == "quick_gelu" || name == "gelu" || name == "gelu_new" || name == "relu" ||
         name == "swish" || name == "silu";
}

void AdapterOptions::validate() const {
  require(reduction_dims > 0, "--adapter-reduction-dims must be > 0, got " + std::to_string(reduction_dims));
  require(share_dim >= 0, "--adapter-share-dim must be >= 0, got " + std::to_string(share_dim));
  require(is_known_activation(non_linearity),
          "--adapter-non-linearity '" + non_linearity +
              "' is not one of quick_gelu, gelu, gelu_new, relu, swish, silu");
  require(dropout >= 0.0 && dropout < 1.0,
          "--adapter-dropout must be in [0, 1), got " + std::to_string(dropout));
  require(init_std > 0.0, "--adapter-init-std must be > 0, got " + std::to_string(init_std));
}

void HeadOptions::validate() const {
  require(q_score_temp > 0.0, "--q-score-temp must be > 0, got " + std::to_string(q_score_temp));
}

void ModelOptions::validate() const {
  adapter.validate();
  head.validate();
  require(precision == "auto" || precision == "fp32" || precision == "bf16" || precision == "fp16",
          "--precision '" + precision + "' is not one of auto, fp32, bf16, fp16");
  // The recomputed pass would draw other dropout masks than the first one did.
  require(!recompute || adapter.dropout == 0.0,
          "--recompute needs --adapter_dropout 0 (the recomputed pass would draw different dropout masks)");
}

}  // namespace cma::model
