#include "cma/train/optimizer.h"

#include <cmath>

#include "cma/core/error.h"

namespace cma::train {

void OptimizerOptions::validate() const {
  require(lr >= 0.0, "--lr must be >= 0, got " + std::to_string(lr));
  require((warmup >= 0.0 && warmup < 1.0) || warmup == -1.0,
          "--warmup_proportion must be in [0, 1) or -1, got " + std::to_string(warmup));
  require(schedule == "warmup_cosine" || schedule == "warmup_constant" || schedule == "warmup_linear",
          "--schedule '" + schedule + "' is not one of warmup_cosine, warmup_constant, warmup_linear");
  require(b1 >= 0.0 && b1 < 1.0, "optimizer b1 must be in [0, 1), got " + std::to_string(b1));
  require(b2 >= 0.0 && b2 < 1.0, "optimizer b2 must be in [0, 1), got " + std::to_string(b2));
  require(eps >= 0.0, "optimizer eps must be >= 0, got " + std::to_string(eps));
  require(weight_decay >= 0.0, "--weight-decay must be >= 0, got " + std::to_string(weight_decay));
}

double schedule_factor(const std::string& schedule, double x, double warmup) {
  if (x < warmup) return x / warmup;
  if (schedule == "warmup_cosine") return 0.5 * (1.0 + std::cos(M_PI * x));
  if (schedule == "warmup_constant") return 1.0;
  if (schedule == "warmup_linear") return std::max((x - 1.0) / (warmup - 1.0), 0.0);
  throw Error("unknown schedule '" + schedule + "'");
}

std::vector<ParamGroup> make_param_groups(const TensorMap& trainable, double lr, double weight_decay) {
  ParamGroup decay{{}, lr, weight_decay}, no_decay{{}, lr, 0.0};
  for (const auto& kv : trainable) {
    (kv.first.find("bias") != std::string::npos ? no_decay : decay).params.push_back(kv);
  }
  std::vector<ParamGroup> out;
  if (!decay.params.empty()) out.push_back(decay);
  if (!no_decay.params.empty()) out.push_back(no_decay);
  return out;
}

double clip_grad_norm(const std::vector<torch::Tensor>& params, double max_norm) {
  std::vector<torch::Tensor> norms;
  for (const auto& p : params) {
    if (p.grad().defined()) norms.push_back(p.grad().norm(2));
  }
  if (norms.empty()) return 0.0;
  // Norm of the per-tensor norms, as torch.nn.utils.clip_grad_norm_ computes it.
  const double total = torch::stack(norms).norm(2).item<double>();
  const double coef = max_norm / (total + 1e-6);
  if (coef < 1.0) {
    torch::NoGradGuard no_grad;
    for (const auto& p : params) {
      if (p.grad().defined()) p.grad().mul_(coef);
    }
  }
  return total;
}

BertAdam::BertAdam(std::vector<ParamGroup> groups, const OptimizerOptions& options, double t_total)
    : groups_(std::move(groups)), options_(options), t_total_(t_total) {
  options_.validate();
  for (const auto& g : groups_) {
    m_.emplace_back();
    v_.emplace_back();
    for (const auto& p : g.params) {
      m_.back().push_back(torch::zeros_like(p.second, torch::MemoryFormat::Contiguous));
      v_.back().push_back(torch::zeros_like(p.second, torch::MemoryFormat::Contiguous));
    }
  }
}

double BertAdam::scheduled_lr(size_t group) const {
  const double lr = groups_.at(group).lr;
  if (t_total_ <= 0) return lr;  // t_total -1: constant learning rate
  return lr * schedule_factor(options_.schedule, static_cast<double>(step_) / t_total_, options_.warmup);
}

void BertAdam::step() {
  torch::NoGradGuard no_grad;
  const double b1 = options_.b1, b2 = options_.b2;
  for (size_t gi = 0; gi < groups_.size(); ++gi) {
    const auto& g = groups_[gi];
    const double lr_t = scheduled_lr(gi);
    for (size_t i = 0; i < g.params.size(); ++i) {
      auto p = g.params[i].second;
      const auto grad = p.grad();
      if (!grad.defined()) continue;
      auto& m = m_[gi][i];
      auto& v = v_[gi][i];
      m.mul_(b1).add_(grad, 1 - b1);
      v.mul_(b2).addcmul_(grad, grad, 1 - b2);
      auto update = m / (v.sqrt() + options_.eps);
      if (g.weight_decay > 0.0) update.add_(p, g.weight_decay);
      p.add_(update, -lr_t);
    }
  }
  ++step_;
}

std::vector<torch::Tensor> BertAdam::all_params() const {
  std::vector<torch::Tensor> out;
  for (const auto& g : groups_) {
    for (const auto& p : g.params) out.push_back(p.second);
  }
  return out;
}

TensorMap BertAdam::state() const {
  TensorMap out;
  for (size_t gi = 0; gi < groups_.size(); ++gi) {
    for (size_t i = 0; i < groups_[gi].params.size(); ++i) {
      const auto& name = groups_[gi].params[i].first;
      out["exp_avg." + name] = m_[gi][i];
      out["exp_avg_sq." + name] = v_[gi][i];
    }
  }
  out["step"] = torch::full({1}, step_, torch::kLong);
  return out;
}

void BertAdam::load_state(const TensorMap& state, const std::string& source) {
  auto get = [&](const std::string& key) -> const torch::Tensor& {
    auto it = state.find(key);
    require(it != state.end(), source + ": optimizer state has no '" + key + "'");
    return it->second;
  };
  torch::NoGradGuard no_grad;
  for (size_t gi = 0; gi < groups_.size(); ++gi) {
    for (size_t i = 0; i < groups_[gi].params.size(); ++i) {
      const auto& name = groups_[gi].params[i].first;
      for (auto* pair : {&m_, &v_}) {
        const std::string key = (pair == &m_ ? "exp_avg." : "exp_avg_sq.") + name;
        const auto& src = get(key);
        auto& dst = (*pair)[gi][i];
        require(src.sizes() == dst.sizes(), source + ": optimizer state '" + key + "' has the wrong shape");
        dst.copy_(src);
      }
    }
  }
  step_ = get("step").item<int64_t>();
}

double stalled_fraction(const std::vector<torch::Tensor>& before, const std::vector<torch::Tensor>& after,
                        const std::vector<torch::Tensor>& moving) {
  int64_t moved = 0, stalled = 0;
  for (size_t i = 0; i < moving.size(); ++i) {
    moved += moving[i].sum().item<int64_t>();
    stalled += (moving[i] & before[i].eq(after[i])).sum().item<int64_t>();
  }
  return moved == 0 ? 0.0 : static_cast<double>(stalled) / static_cast<double>(moved);
}

}  // namespace cma::train
