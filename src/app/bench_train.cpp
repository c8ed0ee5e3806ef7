// `cma bench train`: training throughput as a user sees it, on the CPU or a GPU. For each batch size
// and each input path it reports clips/s, the step's median time, MFU and peak memory:
//   model  inputs already on the device (model-bound)
//   cache  end to end from the frame cache, with the loader's threads
//   jpeg   end to end from JPEG frame folders, with the loader's threads
// The reference's harness (--reference) runs the same configurations in the same invocation, so
// that every ratio printed comes from one run on one machine.
#include <CLI/CLI.hpp>
#include <torch/torch.h>
#include <malloc.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <functional>
#include <memory>
#include <nlohmann/json.hpp>
#include <regex>
#include <sstream>
#include <thread>

#if CMA_WITH_CUDA
#include <ATen/cuda/CUDAContext.h>
#include <c10/cuda/CUDACachingAllocator.h>
#endif

#include "bench_util.h"
#include "cma/app/commands.h"
#include "cma/app/machine.h"
#include "cma/core/atomic_file.h"
#include "cma/core/error.h"
#include "cma/data/batch_tensors.h"
#include "cma/data/frame_cache.h"
#include "cma/data/loader.h"
#include "cma/data/synthetic.h"
#include "cma/data/tokenizer.h"
#include "cma/model/precision.h"
#include "cma/model/weights.h"
#include "cma/train/options.h"

namespace cma::app {

namespace {

namespace fs = std::filesystem;
using bench::now;

struct TrainArgs {
  std::string device = "cpu";
  std::string weights = "random:ViT-B/32";
  std::string batches;             // default: 32,128 on a GPU, 4 on the CPU
  std::string modes = "model,cache,jpeg";
  int frames = 12, words = 32;
  int warmup = 2, steps = 5;       // untimed, then timed steps per configuration
  int workers = 0;                 // loader threads (0: all cores)
  int threads = 0;                 // CPU compute threads (0: all cores)
  std::string precision = "auto";  // the backbone's dtype (model/precision.h)
  bool convert2fp16 = false;
  bool recompute = false;          // also the model-bound step with --recompute
  std::string data;                // a synthetic JPEG tree, generated when absent
  int videos = 64;                 // videos to generate (batches reuse them)
  double peak_tflops = 0;          // MFU's denominator (0: the card's datasheet, else measured)
  std::string reference;           // the reference's training benchmark harness
  std::string python = "python3";
  std::string json;                // where to write every figure (optional)
  model::ModelOptions model;
};

struct Result {
  std::string who, mode;
  int batch = 0;
  double step_s = 0, clips_per_s = 0, mfu = 0;
  int64_t peak_bytes = -1;  // -1: not measured
};

// Multiply-adds count twice. Frozen-backbone training runs the forward pass and, for the gradient
// of the adapters, a backward pass through the activations only (no weight gradients): about twice
// the forward's work. The adapters' own products (under 1%) are left out.
double training_flops(const model::ClipConfig& c, int batch, int frames, int words) {
  const auto encoder = [](double tokens, double width, double layers) {
    return layers * (24.0 * tokens * width * width + 4.0 * tokens * tokens * width);
  };
  const double patches = static_cast<double>(c.grid()) * c.grid();
  const double patch_embed = 2.0 * patches * 3.0 * c.vision_patch_size * c.vision_patch_size * c.vision_width;
  const double vision = encoder(c.vision_tokens(), c.vision_width, c.vision_layers) + patch_embed +
                        2.0 * c.vision_width * c.embed_dim;
  const double text = encoder(words, c.transformer_width, c.transformer_layers) + 2.0 * c.transformer_width * c.embed_dim;
  return 2.0 * batch * (frames * vision + text);
}

// Dense fp16/bf16 tensor-core peaks from the vendors' datasheets (no sparsity), by device name.
double datasheet_tflops(const std::string& name) {
  if (name.find("H200") != std::string::npos) return 989.4;
  if (name.find("H100") != std::string::npos) return name.find("PCIe") != std::string::npos ? 756.0 : 989.4;
  if (name.find("A100") != std::string::npos) return 312.0;
  return 0;
}

// The rate of a large matrix product in `dtype` on `device`: MFU's denominator where no datasheet
// figure applies (the CPU), measured in this run.
double measured_tflops(const torch::Device& device, torch::ScalarType dtype) {
  const int64_t n = device.is_cuda() ? 8192 : 1024;
  const auto opts = torch::TensorOptions().device(device).dtype(dtype);
  const auto a = torch::randn({n, n}, opts), b = torch::randn({n, n}, opts);
  torch::NoGradGuard no_grad;
  torch::mm(a, b);
  bench::synchronize(device);
  std::vector<double> t;
  for (int i = 0; i < 5; ++i) {
    const double t0 = now();
    torch::mm(a, b);
    bench::synchronize(device);
    t.push_back(now() - t0);
  }
  return 2.0 * n * n * n / bench::median(t) / 1e12;
}

// Peak memory of the work between reset_peak and read_peak: the GPU's allocator, or on the CPU the
// process's resident high-water mark (which Linux resets through /proc/self/clear_refs).
void reset_peak(const torch::Device& device) {
#if CMA_WITH_CUDA
  if (device.is_cuda()) {
    c10::cuda::CUDACachingAllocator::resetPeakStats(device.index());
    return;
  }
#endif
  (void)device;
  ::malloc_trim(0);  // memory freed by earlier configurations but still resident would mask this one's peak
  std::ofstream("/proc/self/clear_refs") << "5";
}

int64_t read_peak(const torch::Device& device) {
#if CMA_WITH_CUDA
  if (device.is_cuda()) {
    const auto stats = c10::cuda::CUDACachingAllocator::getDeviceStats(device.index());
    return stats.allocated_bytes[0].peak;  // [0]: every pool together
  }
#endif
  (void)device;
  std::ifstream status("/proc/self/status");
  for (std::string line; std::getline(status, line);) {
    if (line.rfind("VmHWM:", 0) == 0) return std::stoll(line.substr(6)) * 1024;
  }
  return -1;
}

// Everything a configuration's steps need, built once.
struct Bench {
  Bench(const TrainArgs& args, torch::Device dev) : a(args), device(dev) {}
  const TrainArgs& a;
  torch::Device device;
  model::ClipModel model{nullptr};
  std::unique_ptr<dist::Communicator> comm = dist::make_single_process();
  data::Tokenizer tok = data::Tokenizer::bytes_only();
  data::DataOptions data;
  std::vector<std::string> video_ids;
  std::string cache;
  double peak_tflops = 0;
};

// `steps` timed steps after `warmup` on batches from `next`; clips/s counts whole steps, inputs
// included, as a training run sees them.
Result run_steps(Bench& b, const std::string& mode, int batch, const std::function<train::StepInputs()>& next) {
  train::OptimizerOptions o;
  train::BertAdam adam(train::make_param_groups(b.model->adapter_tensors(), o.lr, o.weight_decay), o, 1000.0);
  for (int i = 0; i < b.a.warmup; ++i) bench::time_step(*b.model, *b.comm, adam, next());
  reset_peak(b.device);
  std::vector<double> step;
  for (int i = 0; i < b.a.steps; ++i) {
    const double t0 = now();
    const auto in = next();
    bench::time_step(*b.model, *b.comm, adam, in);
    step.push_back(now() - t0);
  }
  Result r{"cma", mode, batch};
  r.step_s = bench::median(step);
  r.clips_per_s = batch / r.step_s;
  r.mfu = training_flops(b.model->config(), batch, b.a.frames, b.a.words) / r.step_s / (b.peak_tflops * 1e12);
  r.peak_bytes = read_peak(b.device);
  return r;
}

Result run_model_bound(Bench& b, int batch) {
  const auto& c = b.model->config();
  torch::manual_seed(0);
  auto ids = torch::randint(1, c.vocab_size - 2, {batch, b.a.words}, torch::kLong);
  ids.index_put_({torch::indexing::Slice(), b.a.words - 1}, c.vocab_size - 1);
  const train::StepInputs in{ids.to(b.device), torch::randn({batch, b.a.frames, 3, c.image_resolution, c.image_resolution}).to(b.device),
                             torch::ones({batch, b.a.frames}, torch::kLong).to(b.device)};
  return run_steps(b, "model", batch, [&] { return in; });
}

Result run_loader(Bench& b, const std::string& mode, int batch) {
  const auto src = mode == "cache" ? data::make_cache_source(b.cache, b.data.frame_size) : data::make_folder_source(b.data);
  std::vector<data::Pair> pairs;  // the videos again and again, one batch per step
  const int needed = (b.a.warmup + b.a.steps) * batch;
  for (int i = 0; i < needed; ++i) pairs.push_back({b.video_ids[i % b.video_ids.size()], "a man is cooking in a kitchen"});
  data::SamplerOptions so;
  so.shuffle = false;
  so.drop_last = true;
  so.batch_per_rank = batch;
  data::DistributedSampler sampler(static_cast<int64_t>(pairs.size()), so);
  data::Loader loader(pairs, b.tok, *src, sampler, b.data, 0);
  return run_steps(b, mode, batch, [&] {
    auto next = loader.next();
    require(next.has_value(), "bench train: the loader ran out of batches");
    const auto t = data::to_tensors(*next, b.device);
    return train::StepInputs{t.ids, t.video, t.frame_mask};
  });
}

// The synthetic JPEG tree (written once, kept for later runs) and its frame cache (this run's).
void prepare_data(Bench& b) {
  const TrainArgs& a = b.a;
  const std::string root = a.data.empty() ? (fs::temp_directory_path() / "cma_bench_train").string() : a.data;
  const std::string frames = data::synthetic_features_path(root);
  if (!fs::exists(frames)) {
    data::SyntheticSpec spec;
    spec.num_train_videos = a.videos;
    spec.num_test_videos = 1;
    spec.captions_per_video = 1;
    spec.frames_per_video = a.frames;
    std::printf("generating %d videos of %d 320x240 JPEG frames under %s\n", a.videos, a.frames, root.c_str());
    std::fflush(stdout);
    data::write_synthetic_msrvtt(root, spec);
  }
  b.data.features_path = frames;
  b.data.max_frames = a.frames;
  b.data.max_words = a.words;
  b.data.frame_size = b.model->config().image_resolution;
  b.data.workers = a.workers > 0 ? a.workers : static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  b.data.prefetch = 4;
  for (const auto& e : fs::directory_iterator(frames)) {
    if (e.is_directory() && e.path().extension() == ".mp4" && !fs::is_empty(e.path())) {
      b.video_ids.push_back(e.path().stem().string());
    }
  }
  std::sort(b.video_ids.begin(), b.video_ids.end());
  require(!b.video_ids.empty(), "--data " + root + " holds no frame folders under frames/");
  b.cache = (fs::temp_directory_path() / ("cma_bench_train_" + std::to_string(::getpid()) + ".frames")).string();
  data::prepare_from_folders(b.cache, b.video_ids, b.data, b.data.workers, {});
}

// One configuration through the reference's harness: `python HARNESS --mode M --batch B --frames F
// --words W --warmup N --steps N --data ROOT --workers N --device D`, which prints
// "clips/s X step_s Y peak_bytes Z". Throws with its output's tail when it fails.
Result run_reference(const Bench& b, const std::string& mode, int batch) {
  const TrainArgs& a = b.a;
  const auto run = bench::run_script(
      a.python, {a.reference, "--mode", mode, "--batch", std::to_string(batch), "--frames", std::to_string(a.frames),
                 "--words", std::to_string(a.words), "--warmup", std::to_string(a.warmup), "--steps",
                 std::to_string(a.steps), "--data", fs::path(b.data.features_path).parent_path().string(),
                 "--workers", std::to_string(b.data.workers), "--device", a.device});
  std::smatch m;
  const std::regex line("clips/s ([0-9.eE+-]+) step_s ([0-9.eE+-]+) peak_bytes (-?[0-9]+)");
  if (run.exit_code != 0 || !std::regex_search(run.output, m, line)) {
    throw Error("the reference's harness (" + a.python + " " + a.reference + ", --mode " + mode + " --batch " +
                std::to_string(batch) + ") " +
                (run.exit_code != 0 ? "exited with " + std::to_string(run.exit_code) : "printed no 'clips/s ...' line") +
                ":\n" + run.tail());
  }
  Result r{"reference", mode, batch, std::stod(m[2]), std::stod(m[1])};
  r.mfu = training_flops(b.model->config(), batch, a.frames, a.words) / r.step_s / (b.peak_tflops * 1e12);
  r.peak_bytes = std::stoll(m[3]);
  return r;
}

std::string gib(int64_t bytes) {
  if (bytes < 0) return "-";
  char s[32];
  std::snprintf(s, sizeof(s), "%.2f GiB", bytes / 1073741824.0);
  return s;
}

void print_result(const Result& r) {
  std::printf("%-9s %-5s batch %4d: %9.2f clips/s  step %8.4f s  MFU %6.2f%%  peak %s\n", r.who.c_str(), r.mode.c_str(),
              r.batch, r.clips_per_s, r.step_s, 100.0 * r.mfu, gib(r.peak_bytes).c_str());
  std::fflush(stdout);
}

void print_ratios(const std::vector<Result>& ours, const std::vector<Result>& ref) {
  for (const auto& o : ours) {
    if (o.mode != "model") {
      for (const auto& m : ours) {
        if (m.mode != "model" || m.batch != o.batch) continue;
        std::printf("ratio cma %s / cma model, batch %d (same run): clips/s %.3f", o.mode.c_str(), o.batch,
                    o.clips_per_s / m.clips_per_s);
        if (o.mode == "model-recompute") {
          std::printf(", step time %.3f, peak memory %.3f", o.step_s / m.step_s, double(o.peak_bytes) / m.peak_bytes);
        }
        std::printf("\n");
      }
    }
    for (const auto& r : ref) {
      if (r.mode != o.mode || r.batch != o.batch) continue;
      std::printf("ratio cma / reference, %s, batch %d (same run): clips/s %.3f", o.mode.c_str(), o.batch,
                  o.clips_per_s / r.clips_per_s);
      if (o.peak_bytes > 0 && r.peak_bytes > 0) std::printf(", peak memory %.3f", double(o.peak_bytes) / r.peak_bytes);
      std::printf("\n");
    }
  }
  if (ref.empty()) std::printf("reference: not run (--reference PATH or $CMA_REF_TRAIN_BENCH: the reference's harness)\n");
}

nlohmann::json to_json(const std::vector<Result>& results) {
  nlohmann::json out = nlohmann::json::array();
  for (const auto& r : results) {
    out.push_back({{"who", r.who}, {"mode", r.mode}, {"batch", r.batch}, {"step_s", r.step_s},
                   {"clips_per_s", r.clips_per_s}, {"mfu", r.mfu}, {"peak_bytes", r.peak_bytes}});
  }
  return out;
}

void run_bench_train(const TrainArgs& a, const std::vector<int>& batches, const std::vector<std::string>& modes) {
  Bench b(a, torch::Device(train::device_for_rank(a.device, 0)));  // "cuda" -> "cuda:0": stats need an index
  const int threads = set_threads(a.threads, "auto");
  const auto precision = model::resolve_precision(a.precision, a.convert2fp16, b.device);
  b.model = model::build_model(a.weights, a.model, 0);
  b.model->apply_precision(precision);
  b.model->to(b.device);
  b.model->train();
  std::string device_name = "cpu: " + cpu_description();
#if CMA_WITH_CUDA
  if (b.device.is_cuda()) device_name = "gpu: " + std::string(at::cuda::getDeviceProperties(b.device.index())->name);
#endif
  const double datasheet = datasheet_tflops(device_name);
  b.peak_tflops = a.peak_tflops > 0 ? a.peak_tflops : datasheet > 0 ? datasheet : measured_tflops(b.device, precision.backbone);
  std::printf("%s | %d compute threads\n", device_name.c_str(), threads);
  std::printf("model %s | %s | %d frames, %d-token captions | median of %d steps after %d | MFU against %.3g TFLOP/s (%s)\n",
              b.model->config().describe().c_str(), precision.describe().c_str(), a.frames, a.words, a.steps, a.warmup,
              b.peak_tflops,
              a.peak_tflops > 0 ? "--peak_tflops" : datasheet > 0 ? "datasheet, dense" : "a large product measured now");
  if (std::count(modes.begin(), modes.end(), "model") < static_cast<long>(modes.size())) prepare_data(b);

  // The reference first: a broken Python environment fails before minutes of timing.
  std::vector<Result> ours, ref;
  if (!a.reference.empty()) {
    for (int batch : batches) {
      for (const auto& mode : modes) print_result(ref.emplace_back(run_reference(b, mode, batch)));
    }
  }
  for (int batch : batches) {
    for (const auto& mode : modes) {
      print_result(ours.emplace_back(mode == "model" ? run_model_bound(b, batch) : run_loader(b, mode, batch)));
    }
  }
  if (a.recompute) {
    b.model->visual->transformer->recompute = b.model->transformer->recompute = true;
    for (int batch : batches) {
      Result r = run_model_bound(b, batch);
      r.mode = "model-recompute";
      print_result(ours.emplace_back(r));
    }
  }
  if (!b.cache.empty()) fs::remove(b.cache);
  print_ratios(ours, ref);
  if (!a.json.empty()) {
    nlohmann::json j{{"device", device_name}, {"model", b.model->config().describe()}, {"precision", precision.describe()},
                     {"frames", a.frames}, {"words", a.words}, {"steps", a.steps}, {"peak_tflops", b.peak_tflops},
                     {"cma", to_json(ours)}, {"reference", to_json(ref)}};
    write_text_atomic(a.json, j.dump(1) + "\n");
    std::printf("wrote %s\n", a.json.c_str());
  }
}

}  // namespace

void add_bench_train(CLI::App& bench) {
  auto a = std::make_shared<TrainArgs>();
  if (const char* ref = std::getenv("CMA_REF_TRAIN_BENCH")) a->reference = ref;
  if (const char* py = std::getenv("CMA_PYTHON")) a->python = py;
  auto* cmd = bench.add_subcommand("train", "Training clips/s, MFU and peak memory: model-bound, from the cache, from JPEG");
  cmd->add_option("--device", a->device, "cpu | cuda | cuda:N")->capture_default_str();
  cmd->add_option("--weights", a->weights, "CLIP weights file, or random:<preset>")->capture_default_str();
  cmd->add_option("--batches", a->batches, "comma-separated clips per step (default 32,128 on a GPU, 4 on the CPU)");
  cmd->add_option("--modes", a->modes, "comma-separated: model, cache, jpeg")->capture_default_str();
  cmd->add_option("--frames", a->frames, "frames per clip")->capture_default_str();
  cmd->add_option("--words", a->words, "tokens per caption")->capture_default_str();
  cmd->add_option("--warmup", a->warmup, "untimed steps first")->capture_default_str();
  cmd->add_option("--steps", a->steps, "timed steps (median reported)")->capture_default_str();
  cmd->add_option("--workers", a->workers, "loader threads (0: all cores)")->capture_default_str();
  cmd->add_option("--threads", a->threads, "CPU compute threads (0: all cores)")->capture_default_str();
  cmd->add_option("--precision", a->precision, "backbone dtype: auto | fp32 | bf16 | fp16")->capture_default_str();
  cmd->add_flag("--adapter_convert2fp16", a->convert2fp16, "adapters in the backbone's half type (the reference's fp16 mode)");
  cmd->add_flag("--recompute", a->recompute, "also time the model-bound step with --recompute (memory and time against it)");
  cmd->add_option("--data", a->data, "synthetic JPEG tree (generated when absent; default in the temporary folder)");
  cmd->add_option("--videos", a->videos, "videos to generate")->capture_default_str();
  cmd->add_option("--peak_tflops", a->peak_tflops, "MFU's denominator (default: the GPU's datasheet, else measured)");
  cmd->add_option("--reference", a->reference, "the reference's training harness (default $CMA_REF_TRAIN_BENCH)");
  cmd->add_option("--python", a->python, "Python for --reference (default $CMA_PYTHON, else python3)")
      ->capture_default_str();
  cmd->add_option("--json", a->json, "also write every figure to this JSON file");
  cmd->callback([a] {
    const bool cuda = a->device != "cpu";
    std::vector<int> batches;
    for (const auto& s : bench::split_list(a->batches.empty() ? (cuda ? "32,128" : "4") : a->batches)) {
      try {
        batches.push_back(std::stoi(s));
      } catch (const std::exception&) {
        throw Error("--batches: '" + s + "' is not a whole number");
      }
      require(batches.back() > 0, "--batches: each batch must be > 0, got " + s);
    }
    const auto modes = bench::split_list(a->modes);
    require(!modes.empty(), "--modes needs at least one of model, cache, jpeg");
    for (const auto& m : modes) {
      require(m == "model" || m == "cache" || m == "jpeg", "--modes: '" + m + "' is not model, cache or jpeg");
    }
    require(a->frames > 0 && a->words > 1 && a->steps > 0 && a->warmup >= 0 && a->videos > 0,
            "--frames, --steps, --videos must be > 0, --warmup >= 0 and --words > 1");
    require(a->reference.empty() || fs::is_regular_file(a->reference),
            "--reference " + a->reference + ": no such file (the reference's training harness)");
    train::TrainOptions t;
    t.device = a->device;
    t.validate();  // a GPU that is not there is refused before any work
    run_bench_train(*a, batches, modes);
  });
}

}  // namespace cma::app
