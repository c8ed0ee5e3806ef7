// `cma bench step`: forward, backward and optimizer step of one training step, median of N, for
// each precision and CPU matrix library asked for, and the reference's own step run beside them
// (its benchmark script, when given) so that every ratio comes from one run on one machine.
#include <CLI/CLI.hpp>
#include <torch/csrc/autograd/profiler_legacy.h>
#include <torch/torch.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <regex>
#include <sstream>
#include <vector>

#include "cma/app/commands.h"
#include "cma/app/machine.h"
#include "cma/core/error.h"
#include "cma/dist/communicator.h"
#include "cma/model/cpu_gemm.h"
#include "cma/model/weights.h"
#include "cma/train/optimizer.h"
#include "cma/train/step.h"
#include "bench_util.h"

namespace cma::app {
namespace {

using bench::median_of;
using bench::split_list;
using bench::time_step;
using bench::Timing;

struct StepArgs {
  std::string weights = "random:ViT-B/32";
  int batch = 4;       // clips (and captions) per step
  int frames = 12;     // frames per clip
  int words = 32;      // tokens per caption
  int steps = 3;       // timed steps (after one warm-up step)
  int threads = 0;     // 0: all cores
  std::string precisions = "fp32,bf16";
  std::string gemms = "auto,openblas";  // fp32 runs each library once; the first is cma's, bf16 runs on it
  bool unpruned = false;                  // also the step without the last block's pruning
  std::string reference;                  // the reference's step benchmark script
  std::string python = "python3";
  model::ModelOptions model;
};

struct Variant {
  std::string label;  // "cma fp32 oneDNN"
  Timing median;
};

Timing run_variant(model::ClipModelImpl& m, const std::string& label, const StepArgs& a) {
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
  time_step(m, *comm, adam, in);  // warm-up: allocator and thread pools
  if (const char* trace = std::getenv("CMA_PROFILE_TRACE")) {  // a Chrome trace of one step, for tuning
    std::string name = label;
    std::replace(name.begin(), name.end(), ' ', '_');
    torch::autograd::profiler::RecordProfile profile(std::string(trace) + "." + name + ".json");
    time_step(m, *comm, adam, in);
  }
  std::vector<Timing> all;
  for (int i = 0; i < a.steps; ++i) all.push_back(time_step(m, *comm, adam, in));
  return median_of(all);
}

void print_timing(const Variant& v) {
  std::printf("%-22s forward %7.3f s  backward %7.3f s  optimizer %7.4f s  step %7.3f s\n", v.label.c_str(),
              v.median.forward, v.median.backward, v.median.optim, v.median.total());
  std::fflush(stdout);
}

// The reference's step through its own benchmark script (`python SCRIPT BATCH FRAMES STEPS THREADS`:
// one warm-up step, then STEPS timed, printing "median <seconds> s/step"). Throws with its output's
// tail when it fails.
double run_reference(const StepArgs& a, int threads) {
  const auto run = bench::run_script(a.python, {a.reference, std::to_string(a.batch), std::to_string(a.frames),
                                                std::to_string(a.steps), std::to_string(threads)});
  std::smatch m;
  if (run.exit_code != 0 || !std::regex_search(run.output, m, std::regex("median ([0-9.eE+-]+) s/step"))) {
    throw Error("the reference's benchmark (" + a.python + " " + a.reference + ") " +
                (run.exit_code != 0 ? "exited with " + std::to_string(run.exit_code)
                                    : "printed no 'median ... s/step'") +
                ":\n" + run.tail());
  }
  return std::stod(m[1]);
}

// The reference's step at 1 thread and at `threads`, the faster kept: with more than one thread its
// BLAS and OpenMP pools fight (on 2 cores its step took 1.1x longer than at 1 thread on torch 1.13,
// 2.1x on 2.6), and a baseline is timed at its best settings.
double fastest_reference(const StepArgs& a, int threads) {
  std::printf("reference: %s %s ...\n", a.python.c_str(), a.reference.c_str());
  double best = -1;
  int best_threads = 0;
  for (int t : threads > 1 ? std::vector<int>{1, threads} : std::vector<int>{threads}) {
    std::fflush(stdout);
    const double s = run_reference(a, t);
    std::printf("%-22s step %7.3f s at %d thread%s (its own median of %d steps)\n", "reference fp32", s, t,
                t == 1 ? "" : "s", a.steps);
    if (best < 0 || s < best) best = s, best_threads = t;
  }
  std::printf("reference: the ratios below divide by its fastest, %.3f s at %d thread%s\n", best, best_threads,
              best_threads == 1 ? "" : "s");
  return best;
}

// Times each variant asked for, fp32 first: the bf16 conversion of the backbone cannot be undone.
std::vector<Variant> time_variants(model::ClipModelImpl& m, const StepArgs& a,
                                   const std::vector<std::string>& precisions, const std::vector<std::string>& gemms) {
  std::vector<Variant> done;
  const auto run = [&](const std::string& label, const std::string& gemm) {
    set_threads(a.threads, gemm);
    done.push_back({label, run_variant(m, label, a)});
    print_timing(done.back());
  };
  const auto library = [](const std::string& g) { return std::string(model::cpu_gemm_name(model::parse_cpu_gemm(g))); };
  if (std::count(precisions.begin(), precisions.end(), "fp32") > 0) {
    for (const auto& g : gemms) run("cma fp32 " + library(g), g);
    if (a.unpruned) {
      m.prune_last_block = false;
      run("cma fp32 unpruned", gemms.front());
      m.prune_last_block = true;
    }
  }
  if (std::count(precisions.begin(), precisions.end(), "bf16") > 0) {
    model::Precision p;
    p.backbone = torch::kBFloat16;
    m.apply_precision(p);
    run("cma bf16 " + library(gemms.front()), gemms.front());
  }
  return done;
}

// The first variant against each other fp32 one, then every variant against the reference.
void print_ratios(const std::vector<Variant>& done, double reference) {
  const Variant& ours = done.front();
  for (size_t i = 1; i < done.size(); ++i) {
    if (done[i].label.rfind("cma fp32", 0) == 0) {
      std::printf("ratio %s / %s (same run): %.3f\n", ours.label.c_str(), done[i].label.c_str(),
                  ours.median.total() / done[i].median.total());
    }
  }
  if (reference < 0) {
    std::printf("reference: not run (--reference PATH or $CMA_REF_STEP_BENCH: the reference's step benchmark)\n");
    return;
  }
  for (const auto& v : done) {
    std::printf("ratio %s / reference fp32 (same run): %.3f\n", v.label.c_str(), v.median.total() / reference);
  }
}

// The names given, each library once: "auto" is oneDNN or OpenBLAS (model/cpu_gemm.h), so it may
// repeat another name. Refuses a bad name, or oneDNN where it fails its check, before any work.
std::vector<std::string> distinct_libraries(const std::vector<std::string>& names) {
  std::vector<std::string> out;
  std::vector<model::CpuGemm> seen;
  for (const auto& n : names) {
    const auto g = model::parse_cpu_gemm(n);
    if (std::find(seen.begin(), seen.end(), g) != seen.end()) continue;
    seen.push_back(g);
    out.push_back(n);
  }
  return out;
}

void run_bench_step(const StepArgs& a) {
  const auto precisions = split_list(a.precisions);
  const auto gemms = distinct_libraries(split_list(a.gemms));
  for (const auto& p : precisions) require(p == "fp32" || p == "bf16", "--precision: '" + p + "' is not fp32 or bf16");
  require(!precisions.empty() && !gemms.empty(), "--precision and --cpu_gemm each need at least one value");
  require(a.reference.empty() || std::filesystem::is_regular_file(a.reference),
          "--reference " + a.reference + ": no such file (the reference's step benchmark, ref_step_bench.py)");

  const int threads = set_threads(a.threads, gemms.front());
  auto m = model::build_model(a.weights, a.model, 0);
  m->train();
  std::printf("cpu: %s | bf16 products: %s\n", cpu_description().c_str(),
              model::native_bf16_gemm() ? "native (oneDNN)" : "in fp32, rounded to bf16 (no AVX-512 BW/VL/DQ)");
  std::printf("model %s | %d clips x %d frames, %d-token captions | %d threads | median of %d steps\n",
              m->config().describe().c_str(), a.batch, a.frames, a.words, threads, a.steps);

  // The reference first: a broken Python environment fails before minutes of timing.
  const double reference = a.reference.empty() ? -1 : fastest_reference(a, threads);
  print_ratios(time_variants(*m, a, precisions, gemms), reference);
}

}  // namespace

void add_bench_step(CLI::App& bench) {
  auto a = std::make_shared<StepArgs>();
  if (const char* ref = std::getenv("CMA_REF_STEP_BENCH")) a->reference = ref;
  if (const char* py = std::getenv("CMA_PYTHON")) a->python = py;
  auto* cmd = bench.add_subcommand("step", "Time forward, backward and optimizer step of one training step");
  cmd->add_option("--weights", a->weights, "CLIP weights file, or random:<preset>")->capture_default_str();
  cmd->add_option("--batch", a->batch, "clips per step")->capture_default_str();
  cmd->add_option("--frames", a->frames, "frames per clip")->capture_default_str();
  cmd->add_option("--words", a->words, "tokens per caption")->capture_default_str();
  cmd->add_option("--steps", a->steps, "timed steps (median reported)")->capture_default_str();
  cmd->add_option("--threads", a->threads, "compute threads (0: all cores)")->capture_default_str();
  cmd->add_option("--precision", a->precisions, "comma-separated: fp32, bf16 (backbone dtype)")->capture_default_str();
  cmd->add_option("--cpu_gemm", a->gemms,
                  "comma-separated CPU matrix libraries for fp32 (onednn, openblas, auto); bf16 uses the first")
      ->capture_default_str();
  cmd->add_flag("--unpruned", a->unpruned, "also time the step without the last block's pruning");
  cmd->add_option("--reference", a->reference,
                  "the reference's step benchmark (ref_step_bench.py; default $CMA_REF_STEP_BENCH), run with "
                  "--python and the same batch, frames, steps and threads");
  cmd->add_option("--python", a->python, "Python for --reference (default $CMA_PYTHON, else python3)")
      ->capture_default_str();
  cmd->callback([a] {
    require(a->batch > 0 && a->frames > 0 && a->words > 1 && a->steps > 0,
            "--batch, --frames, --steps must be > 0 and --words > 1");
    run_bench_step(*a);
  });
}

}  // namespace cma::app
