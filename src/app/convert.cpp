// `cma convert`: any weights file cma reads, written once as safetensors. A TorchScript archive
// (OpenAI's ViT-B-32.pt) carries code that torch::jit::load compiles, and a pickled state dict goes
// through an unpickler; the converted file is plain tensors that later runs memory-map, no code run.
#include <CLI/CLI.hpp>
#include <torch/torch.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <map>
#include <memory>

#include "cma/app/commands.h"
#include "cma/app/progress.h"
#include "cma/core/error.h"
#include "cma/core/tensor_io.h"
#include "cma/model/weights.h"

namespace cma::app {
namespace {

namespace fs = std::filesystem;

struct ConvertArgs {
  std::string input, output;
  bool force = false;
};

// The input as a file: an existing path, or a model name such as ViT-B/32 looked up in
// ~/.cache/clip/ the way --pretrained_clip_name is. Something that looks like a path (it has a
// folder or an extension) and is missing is reported as that path, not as a model name.
std::string input_file(const std::string& input) {
  require(input.rfind("random:", 0) != 0,
          "cma convert: '" + input + "' is not a file: random weights are made on the fly and need no conversion");
  if (!fs::exists(input)) {
    const fs::path p(input);
    const bool looks_like_path = p.has_extension() || input.front() == '/' || input.front() == '.' || input.front() == '~';
    require(!looks_like_path, "cma convert: input '" + input + "' does not exist");
    return model::resolve_weights(input);
  }
  require(!fs::is_directory(input), "cma convert: input '" + input + "' is a folder, not a weights file");
  return input;
}

void check_output(const std::string& out, const std::string& in, bool force) {
  // Training picks the safetensors reader by this suffix alone (model/weights.h), so a converted
  // file without it would be handed to the TorchScript loader and fail.
  const std::string suffix = ".safetensors";
  require(out.size() > suffix.size() && out.compare(out.size() - suffix.size(), suffix.size(), suffix) == 0,
          "cma convert: output '" + out + "' must end in " + suffix +
              " (training reads a weights file as safetensors by that name alone)");
  const fs::path parent = fs::path(out).parent_path();
  require(parent.empty() || fs::is_directory(parent),
          "cma convert: the output's folder '" + parent.string() + "' does not exist; create it first");
  if (!fs::exists(out)) return;
  require(!fs::is_directory(out), "cma convert: output '" + out + "' is a folder");
  std::error_code ec;
  require(!fs::equivalent(in, out, ec), "cma convert: input and output are the same file '" + out + "'");
  require(force, "cma convert: output '" + out + "' already exists; pass --force to replace it");
}

void run_convert(const ConvertArgs& a) {
  require(!a.input.empty() && !a.output.empty(),
          "cma convert needs an input and an output: cma convert IN OUT.safetensors (or --input IN --output OUT)");
  const std::string in = input_file(a.input);
  // Checked before reading: reading ViT-B/32 takes seconds and the answer would be thrown away.
  check_output(a.output, in, a.force);

  const auto t_read = std::chrono::steady_clock::now();
  TensorMap tensors;
  try {
    tensors = model::read_weights_file(in);
  } catch (const Error& e) {
    throw Error(std::string("cma convert: ") + e.what() +
                " (the input must be a TorchScript archive, a torch.save'd state dict or a .safetensors file)");
  }
  const double read_s = seconds_since(t_read);
  require(!tensors.empty(), "cma convert: " + in + " holds no tensors; nothing to convert");

  int64_t params = 0;
  std::map<std::string, int64_t> per_dtype;  // dtype -> tensors
  for (const auto& [name, t] : tensors) {
    require(t.layout() == torch::kStrided && !t.is_quantized(),
            "cma convert: " + in + " tensor '" + name + "' is sparse or quantized; safetensors holds dense tensors only");
    params += t.numel();
    ++per_dtype[std::string(c10::toString(t.scalar_type()))];
  }

  // save_tensors keeps every name, dtype and shape and writes through a temporary file and a
  // rename, so a crash or a full disk never leaves a torn file under the output's name.
  const auto t_write = std::chrono::steady_clock::now();
  std::map<std::string, std::string> meta;
  meta["format"] = "cma-weights";  // load_adapters then rejects it by name if passed as --adapters
  meta["converted_from"] = fs::path(in).filename().string();
  try {
    save_tensors(a.output, tensors, meta);
  } catch (const Error& e) {
    throw Error("cma convert " + in + " -> " + a.output + ": " + e.what());
  }
  const double write_s = seconds_since(t_write);

  std::string dtypes;
  for (const auto& [dtype, n] : per_dtype) dtypes += (dtypes.empty() ? "" : ", ") + dtype + " x" + std::to_string(n);
  std::printf("read:       %s (%.2f s)\n", in.c_str(), read_s);
  std::printf("wrote:      %s (%.2f s)\n", a.output.c_str(), write_s);
  std::printf("tensors:    %zu (%s)\n", tensors.size(), dtypes.c_str());
  std::printf("parameters: %s\n", grouped(params).c_str());
  std::printf("bytes:      %s\n", grouped(static_cast<int64_t>(fs::file_size(a.output))).c_str());
}

}  // namespace

void add_convert_command(CLI::App& app) {
  auto a = std::make_shared<ConvertArgs>();
  auto* cmd = app.add_subcommand(
      "convert", "Write a weights file (TorchScript archive, state dict, safetensors) as safetensors, loaded without code");
  cmd->add_option("input,--input", a->input, "weights file to read, or a model name such as ViT-B/32 (~/.cache/clip/)");
  cmd->add_option("output,--output", a->output, "safetensors file to write (must end in .safetensors)");
  cmd->add_flag("--force", a->force, "replace the output if it exists");
  cmd->callback([a] { run_convert(*a); });
}

}  // namespace cma::app
