// `cma bench step`: forward, backward and optimizer step of one training step, median of N.
// Runs the pruned model and, with --baseline, the same step without the exact savings, and prints
// their ratio from the same run.
#include <CLI/CLI.hpp>
#include <torch/csrc/autograd/profiler_legacy.h>
#include <torch/torch.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <memory>

#include "cma/app/commands.h"
#include "cma/core/error.h"
#include "cma/dist/communicator.h"
#include "cma/model/weights.h"
#include "cma/train/optimizer.h"
#include "cma/train/step.h"

namespace cma::app {
namespace {

struct StepArgs {
  std::string weights = "random:ViT-B/32";
  int batch = 4;       // clips (and captions) per step
  int frames = 12;     // frames per clip
  int words = 32;      // tokens per caption
  int steps = 3;       // timed steps (after one warm-up step)
  int threads = 0;     // 0: all cores
  bool baseline = true;
  model::ModelOptions model;
};

struct Timing {
  double forward = 0, backward = 0, optim = 0;
  double total() const { return forward + backward + optim; }
};

double now() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

Timing time_step(model::ClipModelImpl& m, dist::Communicator& comm, train::BertAdam& adam,
                 const train::StepInputs& in) {
  Timing t;
  double t0 = now();
  const auto loss = train::contrastive_forward(m, comm, in).loss;
  double t1 = now();
  loss.backward();
  double t2 = now();
  train::clip_grad_norm(adam.all_params(), 1.0);
  adam.step();
  for (auto& p : adam.all_params()) p.mutable_grad() = torch::Tensor();
  double t3 = now();
  t.forward = t1 - t0;
  t.backward = t2 - t1;
  t.optim = t3 - t2;
  return t;
}

Timing median_of(std::vector<Timing> v) {
  auto med = [&](auto field) {
    std::vector<double> x;
    for (const auto& t : v) x.push_back(field(t));
    std::sort(x.begin(), x.end());
    return x[x.size() / 2];
  };
  return {med([](const Timing& t) { return t.forward; }), med([](const Timing& t) { return t.backward; }),
          med([](const Timing& t) { return t.optim; })};
}

Timing run_variant(model::ClipModelImpl& m, bool prune, const StepArgs& a) {
  m.prune_last_block = prune;
  const auto& c = m.config();
  torch::manual_seed(0);
  auto ids = torch::randint(1, c.vocab_size - 2, {a.batch, a.words}, torch::kLong);
  ids.index_put_({torch::indexing::Slice(), a.words - 1}, c.vocab_size - 1);
  auto video = torch::randn({a.batch, a.frames, 3, c.image_resolution, c.image_resolution});
  auto mask = torch::ones({a.batch, a.frames}, torch::kLong);
  train::OptimizerOptions o;
  train::BertAdam adam(train::make_param_groups(m.adapter_tensors(), o.lr, o.weight_decay), o, 100.0);
  auto comm = dist::make_single_process();
  const train::StepInputs in{ids, video, mask};
  time_step(m, *comm, adam, in);  // warm-up: allocator and thread pool
  if (const char* trace = std::getenv("CMA_PROFILE_TRACE")) {  // a Chrome trace of one step, for tuning
    torch::autograd::profiler::RecordProfile profile(std::string(trace) + (prune ? ".pruned.json" : ".json"));
    time_step(m, *comm, adam, in);
  }
  std::vector<Timing> all;
  for (int i = 0; i < a.steps; ++i) all.push_back(time_step(m, *comm, adam, in));
  return median_of(all);
}

void print_timing(const char* label, const Timing& t) {
  std::printf("%-10s forward %7.3f s  backward %7.3f s  optimizer %7.4f s  step %7.3f s\n", label, t.forward,
              t.backward, t.optim, t.total());
}

void run_bench_step(const StepArgs& a) {
  const int threads = set_threads(a.threads);
  auto m = model::build_model(a.weights, a.model, 0);
  m->train();
  std::printf("model %s | %d clips x %d frames, %d-token captions | %d threads | median of %d steps\n",
              m->config().describe().c_str(), a.batch, a.frames, a.words, threads, a.steps);
  const Timing ours = run_variant(*m, true, a);
  print_timing("cma", ours);
  if (a.baseline) {
    const Timing base = run_variant(*m, false, a);
    print_timing("unpruned", base);
    std::printf("ratio cma / unpruned (same run): %.3f\n", ours.total() / base.total());
  }
}

}  // namespace

void add_bench_step(CLI::App& bench) {
  auto a = std::make_shared<StepArgs>();
  auto* cmd = bench.add_subcommand("step", "Time forward, backward and optimizer step of one training step");
  cmd->add_option("--weights", a->weights, "CLIP weights file, or random:<preset>")->capture_default_str();
  cmd->add_option("--batch", a->batch, "clips per step")->capture_default_str();
  cmd->add_option("--frames", a->frames, "frames per clip")->capture_default_str();
  cmd->add_option("--words", a->words, "tokens per caption")->capture_default_str();
  cmd->add_option("--steps", a->steps, "timed steps (median reported)")->capture_default_str();
  cmd->add_option("--threads", a->threads, "intra-op threads (0: all cores)")->capture_default_str();
  cmd->add_flag("!--no-baseline", a->baseline, "skip the unpruned baseline");
  cmd->callback([a] {
    require(a->batch > 0 && a->frames > 0 && a->words > 1 && a->steps > 0,
            "--batch, --frames, --steps must be > 0 and --words > 1");
    run_bench_step(*a);
  });
}

}  // namespace cma::app
