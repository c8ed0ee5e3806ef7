#include "cma/train/trainer.h"

#include <chrono>
#include <csignal>
#include <cmath>
#include <filesystem>

#include "cma/core/atomic_file.h"
#include "cma/core/error.h"
#include "cma/core/log.h"
#include "cma/data/batch_tensors.h"
#include "cma/data/msrvtt.h"
#include "cma/data/tokenizer.h"
#include "cma/dist/communicator.h"
#include "cma/model/head.h"
#include "cma/model/weights.h"
#include "cma/train/checkpoint.h"

namespace cma::train {
namespace {

double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

}  // namespace

Trainer::Trainer(RunConfig config, dist::Communicator& comm)
    : cfg_(std::move(config)), comm_(comm), device_(cfg_.train.device) {}

Trainer::~Trainer() = default;

void Trainer::build() {
  const auto weights = model::resolve_weights(cfg_.model.pretrained_clip_name);
  model_ = model::build_model(weights, cfg_.model, cfg_.train.seed);
  if (!cfg_.train.adapters.empty()) model::load_adapters(*model_, cfg_.train.adapters);
  model_->to(device_);
  trainable_.clear();
  if (cfg_.train.tune == "full") {
    for (auto& kv : model_->named_parameters(true)) {
      kv.value().set_requires_grad(true);
      trainable_[kv.key()] = kv.value();
    }
  } else if (cfg_.train.tune == "adapters") {
    trainable_ = model_->adapter_tensors();
  } else {
    for (auto& kv : model_->named_parameters(true)) kv.value().set_requires_grad(false);
  }
  int64_t n = 0, total = 0;
  for (const auto& kv : trainable_) n += kv.second.numel();
  for (const auto& kv : model_->named_parameters(true)) total += kv.value().numel();
  log::info("train", "model: {}", model_->config().describe());
  log::info("train", "tune {}: {} of {} parameters train ({:.2f}%)", cfg_.train.tune, n, total, 100.0 * n / total);

  const auto& d = cfg_.data;
  tokenizer_ = std::make_unique<data::Tokenizer>(
      d.tokenizer == "bytes" ? data::Tokenizer::bytes_only()
                             : data::Tokenizer::clip(data::find_bpe_vocab(d.bpe_vocab, weights)));
  require(tokenizer_->vocab_size() <= model_->config().vocab_size,
          "the tokenizer's " + std::to_string(tokenizer_->vocab_size()) + " ids exceed the model's vocabulary of " +
              std::to_string(model_->config().vocab_size));
  splits_ = data::read_msrvtt(d);
  if (d.frames_cache.empty()) {  // the cache holds only videos that had frames
    data::drop_videos_without_frames(splits_.train, d, "train");
    data::drop_videos_without_frames(splits_.test, d, "test");
  }
  cfg_.data.frame_size = model_->config().image_resolution;  // frames are cropped to the model's input
  frames_ = data::make_frame_source(cfg_.data);
  log::info("data", "{} training pairs, {} test pairs, frames from {}", splits_.train.size(), splits_.test.size(),
            d.frames_cache.empty() ? d.features_path : d.frames_cache);

  const int world = comm_.size();
  require(cfg_.train.batch_size % world == 0, "--batch_size " + std::to_string(cfg_.train.batch_size) +
                                                  " is not divisible by the " + std::to_string(world) + " ranks");
  data::SamplerOptions so;
  so.seed = cfg_.train.seed;
  so.rank = comm_.rank();
  so.world_size = world;
  so.batch_per_rank = cfg_.train.batch_size / world;
  sampler_ = std::make_unique<data::DistributedSampler>(static_cast<int64_t>(splits_.train.size()), so);
  const int gas = cfg_.train.gradient_accumulation_steps;
  // t_total in floating point, as the reference computes it.
  const double t_total =
      static_cast<double>(sampler_->batches_per_epoch() + gas - 1) / gas * cfg_.train.epochs;
  auto groups = make_param_groups(cfg_.train.tune == "full" ? model_->adapter_tensors() : trainable_,
                                  cfg_.train.optim.lr, cfg_.train.optim.weight_decay);
  if (cfg_.train.tune == "full") {
    TensorMap backbone;
    for (const auto& kv : trainable_) {
      if (!model::ClipModelImpl::is_adapter_name(kv.first)) backbone[kv.first] = kv.second;
    }
    for (auto& g : make_param_groups(backbone, cfg_.train.clip_lr, cfg_.train.optim.weight_decay)) groups.push_back(g);
  }
  optimizer_ = std::make_unique<BertAdam>(std::move(groups), cfg_.train.optim, t_total);
  log::info("train", "{} steps per epoch per rank, t_total {:.1f}, {} rank(s) x {} clips", sampler_->batches_per_epoch(),
            t_total, world, so.batch_per_rank);
}

int Trainer::run() {
  build();
  const bool train = cfg_.train.do_train && !cfg_.train.do_eval && cfg_.train.tune != "none";
  if (train) restore();
  if (!train || state_.finished) {
    if (state_.finished) log::info("train", "{} holds a finished run; evaluating it", cfg_.train.output_dir);
    evaluate();
    return 0;
  }
  while (state_.epoch < cfg_.train.epochs) {
    train_epoch();
    if (stop_signal_) {
      write_checkpoint();
      log::info("train", "stopped by signal {} at epoch {} batch {}; checkpoint written, re-run to resume",
                stop_signal_, state_.epoch, state_.batch_in_epoch);
      return stop_signal_ == SIGINT ? kExitSigint : kExitSigterm;
    }
    if (cfg_.train.max_steps > 0 && state_.global_step >= cfg_.train.max_steps) break;
    after_epoch();
  }
  state_.finished = true;
  write_checkpoint();
  log::info("train", "done: {} steps, {} skipped, best text-to-video R@1 {:.2f} (epoch {})", state_.global_step,
            state_.skipped_steps, state_.best_t2v_r1, state_.best_epoch);
  return 0;
}

void Trainer::train_epoch() {
  model_->train();
  data::Loader loader(splits_.train, *tokenizer_, *frames_, *sampler_, cfg_.data, state_.epoch, state_.batch_in_epoch);
  const int gas = cfg_.train.gradient_accumulation_steps;
  auto t0 = std::chrono::steady_clock::now();
  double wait0 = loader.wait_seconds();
  while (auto batch = loader.next()) {
    step(*batch, state_.batch_in_epoch);
    ++state_.batch_in_epoch;
    if (state_.batch_in_epoch % gas != 0) continue;  // stop and save only at optimizer-step boundaries
    const double wait = loader.wait_seconds() - wait0;
    log_step(window_loss_ / std::max<int64_t>(window_steps_, 1), seconds_since(t0), wait);
    t0 = std::chrono::steady_clock::now();
    wait0 = loader.wait_seconds();
    if (state_.global_step % cfg_.train.checkpoint_every == 0) write_checkpoint();
    if (stop_requested()) return;
    if (cfg_.train.max_steps > 0 && state_.global_step >= cfg_.train.max_steps) return;
  }
  // Gradients of an incomplete accumulation window are dropped at the epoch's end, so that a
  // checkpoint at the boundary captures everything.
  for (auto& kv : trainable_) kv.second.mutable_grad() = torch::Tensor();
  ++state_.epoch;
  state_.batch_in_epoch = 0;
}

void Trainer::step(const data::Batch& batch, int64_t micro_index) {
  const auto t = data::to_tensors(batch, device_);
  auto text = model_->encode_text(t.ids);       // [b, E]
  auto frames = model_->encode_video(t.video);  // [b, F, E]
  auto mask = t.frame_mask;                     // [b, F]
  // Every rank scores the global batch: its rows are gathered with the reference's gradient.
  text = dist::all_gather_with_grad(comm_, text);      // [B, E]
  frames = dist::all_gather_with_grad(comm_, frames);  // [B, F, E]
  mask = comm_.all_gather(mask);                       // [B, F]
  auto loss = model::symmetric_ce_loss(
      model::retrieval_logits(text, frames, mask, model_->logit_scale, model_->options().head));
  const int gas = cfg_.train.gradient_accumulation_steps;
  (loss / gas).backward();
  window_clips_ += batch.B * comm_.size();
  if ((micro_index + 1) % gas == 0) optimizer_step(loss.item<double>());
}

bool Trainer::optimizer_step(double loss_value) {
  std::vector<torch::Tensor> params;
  for (const auto& kv : trainable_) params.push_back(kv.second);
  dist::average_gradients(comm_, params);  // every rank calls it, also before a skip: no hang
  const double norm = clip_grad_norm(params, cfg_.train.optim.max_grad_norm);
  if (!std::isfinite(loss_value) || !std::isfinite(norm)) {
    for (auto& p : params) p.mutable_grad() = torch::Tensor();
    ++state_.skipped_steps;
    ++state_.nonfinite_in_row;
    log::warn("train", "step {}: non-finite loss {} or gradient norm {}; step skipped ({} in a row)",
              state_.global_step, loss_value, norm, state_.nonfinite_in_row);
    require(state_.nonfinite_in_row < cfg_.train.max_nonfinite_steps,
            std::to_string(state_.nonfinite_in_row) +
                " non-finite steps in a row; stopping. Lower --lr, check the data, or raise --max-nonfinite-steps. "
                "The last good checkpoint is in " + cfg_.train.output_dir);
    return false;
  }
  state_.nonfinite_in_row = 0;
  last_lr_ = optimizer_->scheduled_lr(0);  // the rate this update applies (0 on the very first)
  optimizer_->step();
  {
    torch::NoGradGuard no_grad;
    model_->logit_scale.clamp_max_(std::log(100.0));
  }
  for (auto& p : params) p.mutable_grad() = torch::Tensor();
  ++state_.global_step;
  if (on_step) on_step(state_);
  window_loss_ += loss_value;
  ++window_steps_;
  return true;
}

}  // namespace cma::train
