// The parameters a tune policy trains, and the optimizer groups it implies.
#pragma once
#include <vector>

#include "cma/core/tensor_io.h"
#include "cma/model/clip.h"
#include "cma/train/optimizer.h"
#include "cma/train/options.h"

namespace cma::train {

struct Trainables {
  TensorMap tensors;              // every tensor that receives gradients, by name
  std::vector<ParamGroup> groups; // BertAdam's groups over them (empty for Tune::None)
};

// Sets requires_grad on the model's parameters as `o.tune` says and groups them:
// Adapters: the adapters at --lr. Full: the adapters at --lr, every backbone tensor at --clip_lr
// (logit_scale included, as CLIP4Clip trains it). Clip: the backbone at --clip_lr, the adapters
// zeroed and frozen. None: nothing. Biases get no weight decay.
Trainables select_trainables(model::ClipModelImpl& m, const TrainOptions& o);

}  // namespace cma::train
