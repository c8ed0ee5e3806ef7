// `cma convert` as a user runs it: OpenAI-style TorchScript archives and pickled state dicts in,
// safetensors out with every tensor unchanged, and the converted file loaded by the training path.
#include <gtest/gtest.h>
#include <torch/script.h>
#include <torch/serialize.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <set>

#include "cli_util.h"
#include "cma/core/error.h"
#include "cma/core/tensor_io.h"
#include "cma/model/weights.h"

namespace cma::testing {
namespace {

namespace fs = std::filesystem;

const model::ModelOptions kDefaults;  // named: see weights_test.cpp on GCC 12's false warning

TensorMap backbone_of(const std::string& spec, uint64_t seed) {
  auto m = model::build_model(spec, kDefaults, seed);
  TensorMap out;
  for (const auto& kv : m->backbone_tensors()) out[kv.first] = kv.second.detach().clone();
  return out;
}

// OpenAI's archive is mixed precision: clip.model.convert_weights halves the convolution, linear,
// attention and projection weights; layer norms, embeddings and logit_scale stay fp32.
TensorMap as_openai_stores_it(TensorMap tensors) {
  for (auto& [name, t] : tensors) {
    const bool fp32 = name.find("ln_") != std::string::npos || name.find("embedding") != std::string::npos ||
                      name == "logit_scale";
    if (!fp32) t = t.to(torch::kHalf);
  }
  return tensors;
}

// A TorchScript module tree whose dotted parameter names are the keys, plus the three int64 scalar
// buffers OpenAI's archive carries (so the converted file must hold them too).
void save_archive(const TensorMap& tensors, const std::string& path) {
  int classes = 0;
  torch::jit::Module root("__torch__.CLIP");
  for (const auto& [name, t] : tensors) {
    std::string rest = name;
    torch::jit::Module cur = root;
    for (size_t dot; (dot = rest.find('.')) != std::string::npos; rest = rest.substr(dot + 1)) {
      const std::string part = rest.substr(0, dot);
      if (!cur.hasattr(part)) cur.register_module(part, torch::jit::Module("__torch__.M" + std::to_string(classes++)));
      cur = cur.attr(part).toModule();
    }
    cur.register_parameter(rest, t.detach().clone(), false);
  }
  root.register_buffer("input_resolution", torch::tensor(int64_t{224}));
  root.register_buffer("context_length", torch::tensor(int64_t{77}));
  root.register_buffer("vocab_size", torch::tensor(int64_t{49408}));
  root.save(path);
}

void save_state_dict(const TensorMap& tensors, const std::string& path) {
  c10::impl::GenericDict dict(c10::StringType::get(), c10::TensorType::get());
  for (const auto& [name, t] : tensors) dict.insert(name, t);
  const auto bytes = torch::pickle_save(dict);
  std::ofstream(path, std::ios::binary).write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

TensorMap read_safetensors(const std::string& path) {
  st::File f(path);
  return load_tensors(f);
}

// Same names, and for each the same dtype, shape and values.
void expect_identical(const TensorMap& got, const TensorMap& want) {
  ASSERT_EQ(got.size(), want.size());
  for (const auto& [name, t] : want) {
    auto it = got.find(name);
    ASSERT_NE(it, got.end()) << name;
    EXPECT_EQ(it->second.scalar_type(), t.scalar_type()) << name;
    EXPECT_EQ(it->second.sizes(), t.sizes()) << name;
    EXPECT_TRUE(torch::equal(it->second, t)) << name;
  }
}

double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

TEST(Convert, TorchScriptViTB32RoundTripsToIdenticalTensors) {
  const TempDir dir("convert_b32");
  const std::string pt = dir / "ViT-B-32.pt", out = dir / "ViT-B-32.safetensors";
  auto t0 = std::chrono::steady_clock::now();
  auto source = as_openai_stores_it(backbone_of("random:ViT-B/32", 3));
  save_archive(source, pt);
  const double make_s = seconds_since(t0);
  source["input_resolution"] = torch::tensor(int64_t{224});
  source["context_length"] = torch::tensor(int64_t{77});
  source["vocab_size"] = torch::tensor(int64_t{49408});

  t0 = std::chrono::steady_clock::now();
  const auto r = run_cli("convert " + pt + " " + out);
  const double convert_s = seconds_since(t0);
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("tensors:    " + std::to_string(source.size())), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("151,277,316"), std::string::npos) << r.output;  // ViT-B/32 + the 3 scalars

  t0 = std::chrono::steady_clock::now();
  expect_identical(read_safetensors(out), source);
  const double check_s = seconds_since(t0);
  EXPECT_EQ(st::File(out).meta("converted_from"), "ViT-B-32.pt");

  // The training path reads the converted file as the archive, the scalars dropped, no code run.
  t0 = std::chrono::steady_clock::now();
  const auto backbone = model::read_backbone(out);
  const double map_s = seconds_since(t0);
  EXPECT_EQ(backbone.size(), source.size() - 3);
  EXPECT_EQ(backbone.count("vocab_size"), 0u);
  t0 = std::chrono::steady_clock::now();
  expect_identical(model::read_backbone(pt), backbone);
  const double jit_s = seconds_since(t0);
  std::cout << "ViT-B/32 (fp16/fp32 mix): archive made in " << make_s << " s, converted by the cli in " << convert_s
            << " s, compared in " << check_s << " s; read_backbone: safetensors " << map_s << " s, TorchScript "
            << jit_s << " s\n"
            << r.output;
}

TEST(Convert, StateDictRoundTrips) {
  const TempDir dir("convert_sd");
  const std::string pt = dir / "tiny_state_dict.pt", out = dir / "tiny.safetensors";
  const auto source = backbone_of("random:tiny", 5);
  save_state_dict(source, pt);
  const auto r = run_cli("convert --input " + pt + " --output " + out);
  ASSERT_EQ(r.exit_code, 0) << r.output;
  expect_identical(read_safetensors(out), source);
  // --pretrained_clip_name FILE.safetensors: the model trains from the converted file.
  auto m = model::build_model(model::resolve_weights(out), kDefaults, 5);
  for (const auto& [name, t] : source) EXPECT_TRUE(torch::equal(m->backbone_tensors().at(name), t)) << name;
}

TEST(Convert, SafetensorsNameNeverReachesTheTorchScriptLoader) {
  // A TorchScript archive renamed to .safetensors is refused by the safetensors reader; it is never
  // handed to torch::jit::load, so a file named so cannot run code.
  const TempDir dir("convert_noscript");
  const std::string pt = dir / "tiny.pt", disguised = dir / "tiny.safetensors";
  save_archive(backbone_of("random:tiny", 1), pt);
  fs::copy_file(pt, disguised);
  try {
    model::build_model(disguised, kDefaults, 1);
    FAIL() << "expected the safetensors reader to refuse a TorchScript archive";
  } catch (const Error& e) {
    const std::string msg = e.what();
    EXPECT_NE(msg.find(disguised), std::string::npos) << msg;
    EXPECT_EQ(msg.find("TorchScript"), std::string::npos) << msg;
  }
}

TEST(Convert, ModelNamePrefersTheConvertedFileInTheCache) {
  const TempDir home("convert_home");
  fs::create_directories(home / ".cache/clip");
  const std::string pt = home / ".cache/clip/ViT-B-32.pt", converted = home / ".cache/clip/ViT-B-32.safetensors";
  const char* old_home = std::getenv("HOME");
  const std::string saved = old_home ? old_home : "";
  ::setenv("HOME", home.path().c_str(), 1);
  std::ofstream(pt) << "x";
  EXPECT_EQ(model::resolve_weights("ViT-B/32"), pt);
  std::ofstream(converted) << "x";
  EXPECT_EQ(model::resolve_weights("ViT-B/32"), converted);
  fs::remove(pt);
  fs::remove(converted);
  try {
    model::resolve_weights("ViT-B/32");
    ADD_FAILURE() << "expected a missing-weights error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("cma convert " + pt + " " + converted), std::string::npos) << e.what();
  }
  if (old_home) ::setenv("HOME", saved.c_str(), 1);
  else ::unsetenv("HOME");
}

TEST(Convert, RefusesToOverwriteAndNamesBadInput) {
  const TempDir dir("convert_bad");
  const std::string pt = dir / "tiny.pt", out = dir / "tiny.safetensors";
  save_archive(backbone_of("random:tiny", 2), pt);

  ASSERT_EQ(run_cli("convert " + pt + " " + out).exit_code, 0);
  const std::string before = slurp(out);
  auto r = run_cli("convert " + pt + " " + out);  // exists: refused, file untouched
  EXPECT_EQ(r.exit_code, 2) << r.output;
  EXPECT_NE(r.output.find("'" + out + "' already exists; pass --force"), std::string::npos) << r.output;
  EXPECT_EQ(slurp(out), before);
  r = run_cli("convert " + pt + " " + out + " --force");
  EXPECT_EQ(r.exit_code, 0) << r.output;
  EXPECT_EQ(slurp(out), before);  // the same input gives the same bytes
  r = run_cli("convert " + out + " " + out + " --force");
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.output.find("same file"), std::string::npos) << r.output;

  const std::string missing = dir / "nope.pt";
  r = run_cli("convert " + missing + " " + (dir / "a.safetensors"));
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.output.find("'" + missing + "' does not exist"), std::string::npos) << r.output;

  const std::string junk = dir / "junk.pt";
  std::ofstream(junk) << "not weights\n";
  r = run_cli("convert " + junk + " " + (dir / "b.safetensors"));
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.output.find(junk + ": neither a TorchScript archive"), std::string::npos) << r.output;

  const std::string junk_st = dir / "junk.safetensors";
  std::ofstream(junk_st) << "not a safetensors file, but long enough";
  r = run_cli("convert " + junk_st + " " + (dir / "c.safetensors"));
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.output.find(junk_st), std::string::npos) << r.output;

  r = run_cli("convert " + pt + " " + (dir / "no_such_dir/d.safetensors"));
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.output.find("'" + (dir / "no_such_dir") + "' does not exist"), std::string::npos) << r.output;

  r = run_cli("convert " + pt + " " + (dir / "e.pt"));
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.output.find("must end in .safetensors"), std::string::npos) << r.output;

  r = run_cli("convert " + pt);
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.output.find("needs an input and an output"), std::string::npos) << r.output;

  r = run_cli("convert random:tiny " + (dir / "f.safetensors"));
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.output.find("need no conversion"), std::string::npos) << r.output;

  // Nothing but the inputs and the one good output: no partial files, no temporaries.
  std::set<std::string> files;
  for (const auto& e : fs::directory_iterator(dir.path())) files.insert(e.path().filename().string());
  EXPECT_EQ(files, (std::set<std::string>{"tiny.pt", "tiny.safetensors", "junk.pt", "junk.safetensors"}));
}

}  // namespace
}  // namespace cma::testing
