#include "cma/train/trainer.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <csignal>
#include <filesystem>
#include <map>

#include "cma/core/error.h"
#include "cma/core/log.h"
#include "cma/data/batch_tensors.h"
#include "cma/data/shuffle.h"
#include "cma/dist/communicator.h"
#include "cma/model/cpu_gemm.h"
#include "cma/model/layers.h"
#include "cma/model/precision.h"
#include "cma/model/weights.h"
#include "cma/train/checkpoint.h"
#include "cma/train/step.h"
#include "cma/train/tune.h"

namespace cma::train {
namespace {

double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

}  // namespace

Trainer::Trainer(RunConfig config, dist::Communicator& comm)
    : cfg_(std::move(config)), comm_(comm), device_(cfg_.train.device),
      folder_(cfg_.train.output_dir, comm.rank() == 0) {}

Trainer::~Trainer() = default;

void Trainer::build() {
  const auto weights = model::resolve_weights(cfg_.model.pretrained_clip_name);
  build_model(weights);
  data::SplitsNeeded needed;
  needed.train = trains();
  needed.test = !trains() || cfg_.train.eval_each_epoch;
  data_ = data::open_run_data(cfg_.data, weights, model_->config().image_resolution, model_->config().vocab_size,
                              needed);
  if (trains()) build_schedule();
}

void Trainer::build_model(const std::string& weights) {
  model_ = model::build_model(weights, cfg_.model, cfg_.train.seed);
  if (!cfg_.train.adapters.empty()) model::load_adapters(*model_, cfg_.train.adapters);
  std::string note;
  const auto precision = model::resolve_precision(cfg_.model.precision, cfg_.model.adapter.convert2fp16, device_, &note);
  if (!note.empty()) log::warn("train", "{}", note);
  if (device_.is_cpu() && precision.backbone == torch::kBFloat16 && !model::native_bf16_gemm()) {
    log::info("train", "bf16 on a CPU without AVX-512 BW/VL/DQ: products run in fp32 and round to bf16 "
                       "(bf16's numerics at fp32's speed; LibTorch's own bf16 fallback is far slower)");
  }
  model_->apply_precision(precision);
  model::use_deterministic_algorithms(cfg_.train.deterministic);
  model_->to(device_);
  auto selected = select_trainables(*model_, cfg_.train);
  trainable_ = std::move(selected.tensors);
  groups_ = std::move(selected.groups);
  int64_t n = 0, total = 0;
  for (const auto& kv : trainable_) n += kv.second.numel();
  for (const auto& kv : model_->named_parameters(true)) total += kv.value().numel();
  trainable_params_ = n;
  backbone_params_ = 0;
  for (const auto& kv : model_->backbone_tensors()) backbone_params_ += kv.second.numel();
  log::info("train", "model: {}; {} on {}", model_->config().describe(), precision.describe(), device_.str());
  if (trains()) {
    log::info("train", "tune {}: {} of {} parameters train ({:.2f}%)", to_string(cfg_.train.tune), n, total,
              100.0 * n / total);
  }
}

void Trainer::build_schedule() {
  const int world = comm_.size();
  require(cfg_.train.batch_size % world == 0, "--batch_size " + std::to_string(cfg_.train.batch_size) +
                                                  " is not divisible by the " + std::to_string(world) + " ranks");
  // The reference's order by default: torch.randperm seeded 0 + epoch, not --seed (docs/reference.md §6).
  data::SamplerOptions so = data::shuffled_sampler_options(cfg_.data.shuffle, cfg_.train.seed);
  so.rank = comm_.rank();
  so.world_size = world;
  so.batch_per_rank = cfg_.train.batch_size / world;
  sampler_ = std::make_unique<data::DistributedSampler>(static_cast<int64_t>(data_.splits.train.size()), so);
  require(sampler_->batches_per_epoch() >= 1,
          "--batch_size " + std::to_string(cfg_.train.batch_size) + " is larger than the " +
              std::to_string(data_.splits.train.size()) +
              " training pairs, so an epoch has no full batch (the last partial batch is dropped, as in the "
              "reference): lower --batch_size");
  const int gas = cfg_.train.gradient_accumulation_steps;
  // t_total in floating point, as the reference computes it.
  const double t_total =
      static_cast<double>(sampler_->batches_per_epoch() + gas - 1) / gas * cfg_.train.epochs;
  optimizer_ = std::make_unique<BertAdam>(std::move(groups_), cfg_.train.optim, t_total);
  log::info("train", "{} steps per epoch per rank, t_total {:.1f}, {} rank(s) x {} clips", sampler_->batches_per_epoch(),
            t_total, world, so.batch_per_rank);
}

bool Trainer::trains() const {
  return cfg_.train.do_train && !cfg_.train.do_eval && cfg_.train.tune != Tune::None;
}

bool Trainer::max_steps_reached() const {
  return cfg_.train.max_steps > 0 && state_.global_step >= cfg_.train.max_steps;
}

int Trainer::run() {
  build();
  if (!trains()) {
    // `cma eval`, --do_eval or --tune none: a folder holding a training run keeps its results.
    const auto& a = cfg_.train.adapters;
    folder_.open_for_eval(a.empty() ? "zero_shot" : std::filesystem::path(a).stem().string());
    evaluate();
    return 0;
  }
  folder_.open();
  restore();
  if (state_.finished) {
    log::info("train", "{} holds a finished run ({} steps; its evaluation is in {}); nothing to do. --no-resume "
              "starts over, cma eval evaluates again", cfg_.train.output_dir, state_.global_step, folder_.eval_path());
    return 0;
  }
  while (state_.epoch < cfg_.train.epochs && !max_steps_reached()) {
    train_epoch();
    if (stop_signal_) {
      write_checkpoint();
      log::info("train", "stopped by signal {} at epoch {} batch {}; checkpoint written, re-run to resume",
                stop_signal_, state_.epoch, state_.batch_in_epoch);
      return stop_signal_ == SIGINT ? kExitSigint : kExitSigterm;
    }
    if (state_.batch_in_epoch == 0) after_epoch();  // the epoch ran to its end
  }
  // A run cut short by --max-steps is not finished: a later run with a higher limit continues it.
  state_.finished = state_.epoch >= cfg_.train.epochs;
  write_checkpoint();
  if (comm_.rank() == 0) {
    const std::map<std::string, std::string> where = {{"epoch", std::to_string(state_.epoch)},
                                                      {"step", std::to_string(state_.global_step)}};
    model::save_adapters(*model_, folder_.last_adapters_path(), where);
    // A fully fine-tuned model is the backbone as much as the adapters: without it the run is lost.
    if (trains_backbone(cfg_.train.tune)) model::save_backbone(*model_, folder_.last_backbone_path(), where);
  }
  if (!state_.finished) {
    log::info("train", "stopped at --max-steps {} (epoch {}); adapters in {}; a higher --max-steps continues the run",
              cfg_.train.max_steps, state_.epoch + 1, folder_.last_adapters_path());
    return 0;
  }
  log::info("train", "done: {} steps, {} skipped, best text-to-video R@1 {:.2f} (epoch {})", state_.global_step,
            state_.skipped_steps, state_.best_t2v_r1, state_.best_epoch);
  return 0;
}

void Trainer::train_epoch() {
  model_->train();
  data::Loader loader(data_.splits.train, *data_.tokenizer, *data_.frames, *sampler_, data_.options, state_.epoch,
                      state_.batch_in_epoch);
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
    if (max_steps_reached()) return;
  }
  // Gradients of an incomplete accumulation window are dropped at the epoch's end, so that a
  // checkpoint at the boundary captures everything.
  for (auto& kv : trainable_) kv.second.mutable_grad() = torch::Tensor();
  ++state_.epoch;
  state_.batch_in_epoch = 0;
}

void Trainer::step(const data::Batch& batch, int64_t micro_index) {
  const auto t = data::to_tensors(batch, device_);
  const auto out = contrastive_forward(*model_, comm_, {t.ids, t.video, t.frame_mask}, cfg_.train.loss);
  const int gas = cfg_.train.gradient_accumulation_steps;
  (out.loss / gas).backward();
  window_clips_ += batch.B * comm_.size();
  if ((micro_index + 1) % gas == 0) optimizer_step(out.global_loss.item<double>());
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
                " non-finite steps in a row; stopping. Lower --lr, check the data, or raise --max-nonfinite-steps. " +
                (folder_.has_checkpoint() ? "The last good checkpoint is " + folder_.checkpoint_path() +
                                                " (a re-run resumes from it)"
                                          : "No checkpoint was written yet: a re-run starts over"));
    return false;
  }
  state_.nonfinite_in_row = 0;
  last_lr_ = optimizer_->scheduled_lr(0);  // the rate this update applies (0 on the very first)
  // fp16 adapters (--adapter_convert2fp16) can stop moving without any NaN: watch for it.
  const bool half = std::any_of(params.begin(), params.end(), [](const auto& p) { return p.scalar_type() == torch::kHalf; });
  std::vector<torch::Tensor> before, moving;
  if (half) {
    for (const auto& p : params) {
      before.push_back(p.detach().clone());
      moving.push_back(p.grad().defined() ? p.grad().ne(0) : torch::zeros_like(p, torch::kBool));
    }
  }
  optimizer_->step();
  if (half) warn_if_stalled(stalled_fraction(before, params, moving));
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

void Trainer::warn_if_stalled(double fraction) {
  // Once per --log-every window at most: the cause (the learning rate against fp16's resolution)
  // does not change from one step to the next.
  if (fraction < 0.5 || state_.global_step < last_stall_warning_ + cfg_.train.log_every) return;
  last_stall_warning_ = state_.global_step;
  log::warn("train",
            "step {}: {:.0f}% of the fp16 adapter weights with a non-zero gradient did not change: the update "
            "(learning rate {:.3g}) is below fp16's resolution, so training stalls. Drop --adapter_convert2fp16 "
            "(fp32 master weights) or raise --lr",
            state_.global_step + 1, 100.0 * fraction, last_lr_);
}

}  // namespace cma::train
