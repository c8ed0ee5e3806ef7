// Weights in and out: OpenAI-style TorchScript archives, safetensors backbones, adapter files.
#include <gtest/gtest.h>
#include <torch/script.h>

#include <filesystem>

#include "cma/core/error.h"
#include "cma/model/weights.h"
#include "test_tmp.h"

namespace cma::model {
namespace {

// Named, not a ModelOptions{} temporary per call: GCC 12 warns (falsely) that a temporary's string
// may be used uninitialized when it is destroyed inside a gtest assertion.
const ModelOptions kDefaults;

// Builds a TorchScript module tree whose dotted parameter names are the given keys, like the
// archive OpenAI's clip.load caches, including its three scalar attributes.
void save_archive(const TensorMap& tensors, const std::string& path) {
  torch::jit::Module root("__torch__.CLIP");
  for (const auto& [name, t] : tensors) {
    std::string rest = name;
    std::vector<std::string> parts;
    for (size_t dot; (dot = rest.find('.')) != std::string::npos; rest = rest.substr(dot + 1)) {
      parts.push_back(rest.substr(0, dot));
    }
    torch::jit::Module cur = root;
    for (const auto& part : parts) {
      if (!cur.hasattr(part)) {
        torch::jit::Module child("__torch__.M_" + part + std::to_string(std::hash<std::string>()(name) % 100000));
        cur.register_module(part, child);
      }
      cur = cur.attr(part).toModule();
    }
    cur.register_parameter(rest, t.detach().clone(), false);
  }
  root.register_attribute("input_resolution", c10::IntType::get(), 32);
  root.register_attribute("context_length", c10::IntType::get(), 77);
  root.register_attribute("vocab_size", c10::IntType::get(), 49408);
  root.save(path);
}

TEST(Weights, TorchScriptArchiveLoadsByName) {
  auto src = build_model("random:tiny", kDefaults, 11);
  TensorMap backbone;
  for (const auto& kv : src->backbone_tensors()) backbone[kv.first] = kv.second;
  ASSERT_FALSE(backbone.empty());
  const cma::testing::TempDir dir("weights");
  const auto path = dir / "tiny_clip.pt";
  save_archive(backbone, path);
  const auto read = read_backbone(path);
  EXPECT_EQ(read.size(), backbone.size());
  EXPECT_EQ(read.count("input_resolution"), 0u);
  auto loaded = build_model(path, kDefaults, 11);
  EXPECT_EQ(loaded->config().to_json(), src->config().to_json());
  for (const auto& kv : backbone) {
    EXPECT_TRUE(torch::equal(loaded->backbone_tensors().at(kv.first), kv.second)) << kv.first;
  }
}

TEST(Weights, SafetensorsBackboneAndMissingKey) {
  auto src = build_model("random:tiny", kDefaults, 2);
  TensorMap backbone;
  for (const auto& kv : src->backbone_tensors()) backbone["backbone." + kv.first] = kv.second;
  const cma::testing::TempDir dir("weights");
  const auto path = dir / "tiny.safetensors";
  save_tensors(path, backbone);
  auto loaded = build_model(path, kDefaults, 2);
  EXPECT_TRUE(torch::equal(loaded->visual->proj, src->visual->proj));
  backbone.erase("backbone.ln_final.bias");
  save_tensors(path, backbone);
  try {
    build_model(path, kDefaults, 2);
    FAIL() << "expected a missing-key error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("'ln_final.bias'"), std::string::npos) << e.what();
  }
}

TEST(Weights, AdapterFileRoundTripAndShapeMismatch) {
  ModelOptions o;
  auto a = build_model("random:tiny", o, 4);
  const cma::testing::TempDir dir("weights");
  const auto path = dir / "adapters.safetensors";
  save_adapters(*a, path);
  st::File f(path);
  EXPECT_EQ(f.meta("format"), kAdapterFormat);
  EXPECT_EQ(f.meta("r"), "8");
  EXPECT_EQ(f.meta("ds"), "16");
  auto b = build_model("random:tiny", o, 5);
  load_adapters(*b, path);
  ASSERT_EQ(a->adapter_tensors().size(), 10u);
  for (const auto& kv : a->adapter_tensors()) EXPECT_TRUE(torch::equal(kv.second, b->adapter_tensors().at(kv.first)));
  o.adapter.reduction_dims = 4;
  auto c = build_model("random:tiny", o, 5);
  try {
    load_adapters(*c, path);
    FAIL() << "expected a shape error";
  } catch (const Error& e) {
    const std::string msg = e.what();
    // The first tensor in name order names the file's shape and the model's.
    EXPECT_NE(msg.find("'text_adapter_down_bias' has shape [4, 8], the model expects [4, 4]"), std::string::npos)
        << msg;
  }
}

TEST(Weights, RandomPresetsAreSeeded) {
  auto a = build_model("random:tiny", kDefaults, 9), b = build_model("random:tiny", kDefaults, 9);
  EXPECT_TRUE(torch::equal(a->transformer->resblocks->ptr<ResidualBlockImpl>(0)->attn->in_proj_weight,
                           b->transformer->resblocks->ptr<ResidualBlockImpl>(0)->attn->in_proj_weight));
  EXPECT_THROW(build_model("random:ViT-Z/99", kDefaults, 1), Error);
}

}  // namespace
}  // namespace cma::model
