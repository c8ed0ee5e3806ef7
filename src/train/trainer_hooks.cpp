// The trainer's hooks: restore, checkpoints, evaluation, outputs, progress and stop signals.
#include <unistd.h>

#include <atomic>
#include <csignal>
#include <cstdio>
#include <filesystem>
#include <sstream>

#include "cma/core/atomic_file.h"
#include "cma/core/error.h"
#include "cma/core/log.h"
#include "cma/model/weights.h"
#include "cma/train/checkpoint.h"
#include "cma/train/trainer.h"

namespace cma::train {
namespace {

std::atomic<int> g_stop_signal{0};

extern "C" void on_stop_signal(int sig) { g_stop_signal = sig; }

std::string out_path(const RunConfig& c, const std::string& name) { return c.train.output_dir + "/" + name; }

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
  std::filesystem::create_directories(cfg_.train.output_dir);
  const auto ckpt = out_path(cfg_, "checkpoint.safetensors");
  const auto metrics = out_path(cfg_, "metrics.jsonl");
  if (!cfg_.train.resume || !std::filesystem::exists(ckpt)) {
    if (comm_.rank() == 0) {
      write_text_atomic(out_path(cfg_, "config.json"), cfg_.resolved.dump(2) + "\n");
      if (std::filesystem::exists(metrics)) std::filesystem::remove(metrics);
    }
    log::info("train", "starting a new run in {}", cfg_.train.output_dir);
    return;
  }
  auto c = load_checkpoint(ckpt);
  for (const auto& key : {"model", "data", "train"}) {
    if (c.config.contains(key) && cfg_.resolved.contains(key)) {
      auto a = c.config[key], b = cfg_.resolved[key];
      for (const auto* volatile_key : {"workers", "prefetch", "frames_cache", "epochs", "resume", "log_every",
                                       "threads", "max_steps", "checkpoint_every", "output_dir"}) {
        a.erase(volatile_key);
        b.erase(volatile_key);
      }
      require(a == b, ckpt + " was written by a run with a different '" + std::string(key) +
                          "' configuration; use --no-resume to start over or another --output_dir");
    }
  }
  torch::NoGradGuard no_grad;
  for (auto& kv : trainable_) {
    auto it = c.params.find(kv.first);
    require(it != c.params.end(), ckpt + ": no tensor for '" + kv.first + "'");
    kv.second.copy_(it->second);
  }
  optimizer_->load_state(c.optimizer, ckpt);
  set_cpu_rng_state(c.rng);
  state_ = c.state;
  // Records logged after the checkpoint will be logged again: drop them.
  if (std::filesystem::exists(metrics)) {
    std::istringstream in(read_text(metrics));
    for (std::string line; std::getline(in, line);) {
      if (line.empty()) continue;
      const auto j = nlohmann::json::parse(line);
      if (j.value("step", int64_t{0}) <= state_.global_step) metrics_lines_.push_back(line);
    }
  }
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
  save_checkpoint(out_path(cfg_, "checkpoint.safetensors"), c);
}

void Trainer::record(const nlohmann::json& rec) {
  if (comm_.rank() != 0) return;
  std::filesystem::create_directories(cfg_.train.output_dir);
  metrics_lines_.push_back(rec.dump());
  std::string all;
  for (const auto& l : metrics_lines_) all += l + "\n";
  write_text_atomic(out_path(cfg_, "metrics.jsonl"), all);
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
  record({{"type", "train"}, {"epoch", state_.epoch + 1}, {"step", state_.global_step}, {"loss", loss}, {"lr", lr},
          {"clips_per_s", clips_per_s}, {"data_wait_s", window_wait_}, {"compute_s", window_time_ - window_wait_}});
  window_loss_ = window_time_ = window_wait_ = 0;
  window_steps_ = window_clips_ = 0;
}

void Trainer::after_epoch() {
  const int64_t epoch = state_.epoch;  // already advanced: the epoch just finished, 1-based
  if (comm_.rank() == 0) {
    model::save_adapters(*model_, out_path(cfg_, "adapters_epoch" + std::to_string(epoch) + ".safetensors"),
                         {{"epoch", std::to_string(epoch)}});
  }
  if (cfg_.train.eval_each_epoch) {
    const auto r = evaluate();
    if (comm_.rank() == 0 && r.plain.t2v.r1 > state_.best_t2v_r1) {
      state_.best_t2v_r1 = r.plain.t2v.r1;
      state_.best_epoch = epoch;
      model::save_adapters(*model_, out_path(cfg_, "adapters_best.safetensors"), {{"epoch", std::to_string(epoch)}});
      log::info("train", "new best text-to-video R@1 {:.2f} at epoch {}", r.plain.t2v.r1, epoch);
    }
  }
  write_checkpoint();
}

}  // namespace cma::train
