#include "cma/train/tune.h"

namespace cma::train {

Trainables select_trainables(model::ClipModelImpl& m, const TrainOptions& o) {
  Trainables t;
  const auto adapters = m.adapter_tensors();
  const auto backbone = m.backbone_tensors();
  const bool adapters_train = o.tune == Tune::Adapters || o.tune == Tune::Full;
  for (auto& kv : adapters) kv.second.set_requires_grad(adapters_train);
  for (auto& kv : backbone) kv.second.set_requires_grad(trains_backbone(o.tune));
  if (o.tune == Tune::Clip) {
    // An adapter with zero weights adds exactly nothing, so the model is CLIP alone and what is
    // saved of it (the backbone) is all of what was trained.
    torch::NoGradGuard no_grad;
    for (auto& kv : adapters) kv.second.zero_();
  }
  if (adapters_train) {
    t.tensors = adapters;
    t.groups = make_param_groups(adapters, o.optim.lr, o.optim.weight_decay);
  }
  if (trains_backbone(o.tune)) {
    for (const auto& kv : backbone) t.tensors[kv.first] = kv.second;
    for (auto& g : make_param_groups(backbone, o.clip_lr, o.optim.weight_decay)) t.groups.push_back(std::move(g));
  }
  return t;
}

}  // namespace cma::train
