// Private to the `cma bench` subcommands: timing one training step, medians, comma lists, and
// running the reference's benchmark scripts.
#pragma once
#include <torch/torch.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#if CMA_WITH_CUDA
#include <c10/cuda/CUDAFunctions.h>
#endif

#include "cma/app/child_process.h"
#include "cma/dist/communicator.h"
#include "cma/train/optimizer.h"
#include "cma/train/step.h"

namespace cma::app::bench {

inline double now() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

inline std::vector<std::string> split_list(const std::string& s) {
  std::vector<std::string> out;
  std::stringstream in(s);
  for (std::string item; std::getline(in, item, ',');) {
    if (!item.empty()) out.push_back(item);
  }
  return out;
}

struct Timing {
  double forward = 0, backward = 0, optim = 0;
  double total() const { return forward + backward + optim; }
};

// Waits for the device's queued work, so that host clocks time it (a no-op on the CPU).
inline void synchronize(const torch::Device& device) {
#if CMA_WITH_CUDA
  if (device.is_cuda()) c10::cuda::device_synchronize();
#else
  (void)device;
#endif
}

// A script of the reference's run by `python`: its exit code and everything it printed.
struct ScriptRun {
  int exit_code = 0;
  std::string output;
  // The last 2000 characters of the output, for error messages.
  std::string tail() const { return output.size() > 2000 ? output.substr(output.size() - 2000) : output; }
};

inline ScriptRun run_script(const std::string& python, const std::vector<std::string>& args) {
  namespace fs = std::filesystem;
  const fs::path log = fs::temp_directory_path() / ("cma_bench_reference_" + std::to_string(::getpid()) + ".txt");
  const auto r = run_child(python, args, log.string(), nullptr);
  std::stringstream text;
  text << std::ifstream(log).rdbuf();
  fs::remove(log);
  return {r.exit_code, text.str()};
}

// One training step as the trainer takes it: loss, backward, clipping, BertAdam, grads dropped.
inline Timing time_step(model::ClipModelImpl& m, dist::Communicator& comm, train::BertAdam& adam,
                        const train::StepInputs& in) {
  const torch::Device device = in.video.device();
  Timing t;
  synchronize(device);
  const double t0 = now();
  const auto loss = train::contrastive_forward(m, comm, in).loss;
  synchronize(device);
  const double t1 = now();
  loss.backward();
  synchronize(device);
  const double t2 = now();
  train::clip_grad_norm(adam.all_params(), 1.0);
  adam.step();
  for (auto& p : adam.all_params()) p.mutable_grad() = torch::Tensor();
  synchronize(device);
  t.forward = t1 - t0;
  t.backward = t2 - t1;
  t.optim = now() - t2;
  return t;
}

inline double median(std::vector<double> x) {
  std::sort(x.begin(), x.end());
  return x.empty() ? 0.0 : x[x.size() / 2];
}

inline Timing median_of(const std::vector<Timing>& v) {
  auto field = [&](double Timing::*f) {
    std::vector<double> x;
    for (const auto& t : v) x.push_back(t.*f);
    return median(x);
  };
  return {field(&Timing::forward), field(&Timing::backward), field(&Timing::optim)};
}

}  // namespace cma::app::bench
