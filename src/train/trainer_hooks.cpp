// The trainer's hooks: restore, checkpoints, evaluation, outputs, progress and stop signals.
#include <unistd.h>

#include <atomic>
#include <csignal>
#include <cstdio>

#include "cma/core/error.h"
#include "cma/core/log.h"
#include "cma/model/weights.h"
#include "cma/train/checkpoint.h"
#include "cma/train/trainer.h"

namespace cma::train {
namespace {

std::atomic<int> g_stop_signal{0};

extern "C" void on_stop_signal(int sig) { g_stop_signal = sig; }

}  // namespace

void install_stop_handlers() {
  std::signal(SIGINT, on_stop_signal);
  std::signal(SIGTERM, on_stop_signal);
}
void request_stop(int signal) { g_stop_signal = signal; }
void clear_stop_request() { g_stop_signal = 0; }

bool Trainer::stop_requested() {
  // Ranks agree: a signal seen by any rank stops all of them after the same step.
  auto flag = torch::full({1}, static_cast<double>(g_stop_signal.load()), torch::kDouble);
  if (comm_.size() > 1) {
    std::vector<torch::Tensor> t = {flag};
    comm_.all_reduce_sum(t);
  }
  const int sig = g_stop_signal.load();
  if (flag.item<double>() > 0) stop_signal_ = sig ? sig : SIGTERM;
  return stop_signal_ != 0;
}

void Trainer::restore() {
  if (!cfg_.train.resume || !folder_.has_checkpoint()) {
    folder_.start_new(cfg_.resolved);
    log::info("train", "starting a new run in {}", folder_.dir());
    return;
  }
  const auto ckpt = folder_.checkpoint_path();
  auto c = load_checkpoint(ckpt);
  require_resumable(c.config, cfg_.resolved, cfg_.on_resume, cfg_.train.allow_schedule_change, ckpt);
  torch::NoGradGuard no_grad;
  for (auto& kv : trainable_) {
    auto it = c.params.find(kv.first);
    require(it != c.params.end(), ckpt + ": no tensor for '" + kv.first + "'");
    kv.second.copy_(it->second);
  }
  optimizer_->load_state(c.optimizer, ckpt);
  set_cpu_rng_state(c.rng);
  state_ = c.state;
  folder_.resume_at(state_.global_step, state_.epoch);
  log::info("train", "resumed from {}: epoch {}, batch {}, step {}", ckpt, state_.epoch, state_.batch_in_epoch,
            state_.global_step);
}

void Trainer::write_checkpoint() {
  if (comm_.rank() != 0) return;
  Checkpoint c;
  c.params = trainable_;
  c.optimizer = optimizer_->state();
  c.rng = cpu_rng_state();
  c.state = state_;
  c.config = cfg_.resolved;
  save_checkpoint(folder_.checkpoint_path(), c);
}

void Trainer::log_step(double loss, double seconds, double wait) {
  window_time_ += seconds;
  window_wait_ += wait;
  const int64_t per_epoch = sampler_->batches_per_epoch() / cfg_.train.gradient_accumulation_steps;
  const bool boundary = state_.global_step % cfg_.train.log_every == 0;
  const double clips_per_s = window_clips_ / std::max(window_time_, 1e-9);
  if (comm_.rank() == 0 && ::isatty(STDERR_FILENO)) {
    const int64_t left = per_epoch * (cfg_.train.epochs - state_.epoch) - state_.batch_in_epoch / cfg_.train.gradient_accumulation_steps;
    const double eta = left * window_time_ / std::max<int64_t>(window_steps_, 1);
    std::fprintf(stderr, "\r[train] epoch %lld/%d step %lld/%lld loss %.4f %.1f clips/s ETA %02d:%02d:%02d  ",
                 static_cast<long long>(state_.epoch + 1), cfg_.train.epochs,
                 static_cast<long long>(state_.batch_in_epoch / cfg_.train.gradient_accumulation_steps),
                 static_cast<long long>(per_epoch), loss, clips_per_s, static_cast<int>(eta / 3600),
                 static_cast<int>(eta / 60) % 60, static_cast<int>(eta) % 60);
    std::fflush(stderr);
  }
  if (!boundary) return;
  const double lr = last_lr_;
  if (comm_.rank() == 0 && ::isatty(STDERR_FILENO)) std::fprintf(stderr, "\n");
  log::info("train", "epoch {} step {} loss {:.6f} lr {:.3e} {:.1f} clips/s data-wait {:.2f}s compute {:.2f}s",
            state_.epoch + 1, state_.global_step, loss, lr, clips_per_s, window_wait_, window_time_ - window_wait_);
  folder_.append_record({{"type", "train"}, {"epoch", state_.epoch + 1}, {"step", state_.global_step}, {"loss", loss}, {"lr", lr},
          {"clips_per_s", clips_per_s}, {"data_wait_s", window_wait_}, {"compute_s", window_time_ - window_wait_}});
  window_loss_ = window_time_ = window_wait_ = 0;
  window_steps_ = window_clips_ = 0;
}

void Trainer::after_epoch() {
  const int64_t epoch = state_.epoch;  // already advanced: the epoch just finished, 1-based
  if (comm_.rank() == 0) {
    model::save_adapters(*model_, folder_.epoch_adapters_path(epoch), {{"epoch", std::to_string(epoch)}});
  }
  if (cfg_.train.eval_each_epoch) {
    const auto r = evaluate();  // every rank has the same metrics
    if (r.plain.t2v.r1 > state_.best_t2v_r1) {
      state_.best_t2v_r1 = r.plain.t2v.r1;
      state_.best_epoch = epoch;
      if (comm_.rank() == 0) {
        model::save_adapters(*model_, folder_.best_adapters_path(), {{"epoch", std::to_string(epoch)}});
        if (trains_backbone(cfg_.train.tune)) {
          model::save_backbone(*model_, folder_.best_backbone_path(), {{"epoch", std::to_string(epoch)}});
        }
      }
      log::info("train", "new best text-to-video R@1 {:.2f} at epoch {}", r.plain.t2v.r1, epoch);
    }
  }
  write_checkpoint();
}

}  // namespace cma::train
