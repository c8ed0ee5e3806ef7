#include "cma/train/tune.h"

namespace cma::train {

Trainables select_trainables(model::ClipModelImpl& m, const TrainOptions& o) {
  Trainables t;
  const auto adapters = m.adapter_tensors();
  const auto backbone = m.backbone_tensors();
  for (auto& kv : adapters) kv.second.set_requires_grad(o.tune != Tune::None);
  for (auto& kv : backbone) kv.second.set_requires_grad(o.tune == Tune::Full);
  if (o.tune == Tune::None) return t;
  t.tensors = adapters;
  t.groups = make_param_groups(adapters, o.optim.lr, o.optim.weight_decay);
  if (o.tune == Tune::Full) {
    for (const auto& kv : backbone) t.tensors[kv.first] = kv.second;
    for (auto& g : make_param_groups(backbone, o.clip_lr, o.optim.weight_decay)) t.groups.push_back(std::move(g));
  }
  return t;
}

}  // namespace cma::train
