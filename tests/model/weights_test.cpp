// Weights in and out: OpenAI-style TorchScript archives, safetensors backbones, adapter files.
#include <gtest/gtest.h>
#include <torch/script.h>

#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "cma/core/error.h"
#include "cma/model/weights.h"
#include "st_damage.h"
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
  EXPECT_TRUE(f.checksum_verified());
  EXPECT_EQ(f.meta("format"), kAdapterFormat);
  EXPECT_EQ(f.meta("r"), "8");
  EXPECT_EQ(f.meta("ds"), "16");
  auto b = build_model("random:tiny", o, 5);
  load_adapters(*b, path);
  ASSERT_EQ(a->adapter_tensors().size(), 10u);
  for (const auto& kv : a->adapter_tensors()) EXPECT_TRUE(torch::equal(kv.second, b->adapter_tensors().at(kv.first)));
  // A file without metadata (as another tool writes it) is checked by its shapes alone; ours is
  // refused earlier, by its metadata 'r' (AdapterMetadataOtherThanTheOptionsIsRefusedNamingTheKey).
  cma::testing::rewrite_without_checksum(path, {});
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

// ---- adapter files: integrity (checksum), dtypes, finite values, metadata against the options ----

// load_adapters must throw a cma::Error whose message holds every one of `parts`.
void expect_refused(ClipModelImpl& model, const std::string& path, const std::vector<std::string>& parts) {
  try {
    load_adapters(model, path);
    ADD_FAILURE() << "expected load_adapters to refuse " << path;
  } catch (const Error& e) {
    const std::string msg = e.what();
    for (const auto& part : parts) EXPECT_NE(msg.find(part), std::string::npos) << "'" << part << "' not in: " << msg;
  }
}

// An adapters file saved from a tiny model with options `o`; returns its path inside `dir`.
std::string saved_adapters(const cma::testing::TempDir& dir, const ModelOptions& o = kDefaults) {
  auto m = build_model("random:tiny", o, 4);
  const auto path = dir / "adapters.safetensors";
  save_adapters(*m, path);
  return path;
}

TEST(AdapterFile, FlippedByteIsRefusedAsDamaged) {
  const cma::testing::TempDir dir("adapters");
  const auto path = saved_adapters(dir);
  cma::testing::flip_data_byte(path, "visual_adapter_down_weight");
  auto m = build_model("random:tiny", kDefaults, 5);
  expect_refused(*m, path, {path + ": checksum mismatch: the file is damaged", "--adapters"});
}

// A tensor relabelled I32 in our file is damage (the checksum covers the header); in a file without
// a checksum it is refused by name rather than read as integers and converted.
TEST(AdapterFile, TensorRelabelledI32IsRefusedNamingIt) {
  const cma::testing::TempDir dir("adapters");
  const auto path = saved_adapters(dir);
  auto m = build_model("random:tiny", kDefaults, 5);
  const std::string from = R"("visual_adapter_down_weight":{"dtype":"F32")";
  const std::string to = R"("visual_adapter_down_weight":{"dtype":"I32")";
  cma::testing::edit_header(path, from, to);
  expect_refused(*m, path, {path + ": checksum mismatch"});
  saved_adapters(dir);
  cma::testing::rewrite_without_checksum(path, {{"format", kAdapterFormat}, {"format_version", "1"}, {"r", "8"}});
  cma::testing::edit_header(path, from, to);
  expect_refused(*m, path, {path + ": tensor 'visual_adapter_down_weight' has dtype I32", "F32, F16 or BF16"});
}

TEST(AdapterFile, NaNWeightIsRefusedNamingTheTensor) {
  const cma::testing::TempDir dir("adapters");
  auto a = build_model("random:tiny", kDefaults, 4);
  {
    torch::NoGradGuard no_grad;
    a->adapter_tensors().at("text_adapter_up_unique_weight").view(-1)[3] = std::nan("");
  }
  const auto path = dir / "nan.safetensors";
  save_adapters(*a, path);  // a valid checksum: the file is intact, its values are not
  auto m = build_model("random:tiny", kDefaults, 5);
  expect_refused(*m, path,
                 {path + ": tensor 'text_adapter_up_unique_weight' holds 1 non-finite value (NaN or infinity)"});
}

TEST(AdapterFile, MetadataOtherThanTheOptionsIsRefusedNamingTheKey) {
  const cma::testing::TempDir dir("adapters");
  const auto path = saved_adapters(dir);  // r=8, quick_gelu
  ModelOptions r16;
  r16.adapter.reduction_dims = 16;
  auto m16 = build_model("random:tiny", r16, 5);
  expect_refused(*m16, path, {path + ": metadata 'r' is 8, this run has --adapter_reduction_dims 16",
                              "pass --adapter_reduction_dims 8"});
  ModelOptions gelu;
  gelu.adapter.non_linearity = "gelu";
  auto mg = build_model("random:tiny", gelu, 5);
  expect_refused(*mg, path, {"metadata 'activation' is quick_gelu, this run has --adapter_non_linearity gelu"});
  ModelOptions ds8;
  ds8.adapter.share_dim = 8;
  auto md = build_model("random:tiny", ds8, 5);
  expect_refused(*md, path, {"metadata 'ds' is 16, this run has --adapter_share_dim 8"});
  // Layer counts do not change the adapters' shapes, so only the metadata tells the backbones apart.
  st::File f(path);
  auto meta = f.metadata();
  meta["vision_layers"] = "24";
  meta["format_version"] = "1";
  cma::testing::rewrite_without_checksum(path, meta);
  auto m = build_model("random:tiny", kDefaults, 5);
  expect_refused(*m, path, {"metadata 'vision_layers' is 24", "--pretrained_clip_name"});
}

// Files of other tools and of earlier cma builds have no checksum and are still read; a version-2
// file (which always carries one) without one has a damaged header.
TEST(AdapterFile, FileWithoutAChecksumStillLoads) {
  const cma::testing::TempDir dir("adapters");
  auto a = build_model("random:tiny", kDefaults, 4);
  const auto path = dir / "plain.safetensors";
  save_adapters(*a, path);
  cma::testing::rewrite_without_checksum(path, {});  // no metadata at all
  auto b = build_model("random:tiny", kDefaults, 5);
  load_adapters(*b, path);
  for (const auto& kv : a->adapter_tensors()) EXPECT_TRUE(torch::equal(kv.second, b->adapter_tensors().at(kv.first)));
  save_adapters(*a, path);
  std::map<std::string, std::string> meta = st::File(path).metadata();
  meta["format_version"] = "1";
  cma::testing::rewrite_without_checksum(path, meta);
  auto c = build_model("random:tiny", kDefaults, 5);
  load_adapters(*c, path);
  meta["format_version"] = "2";
  cma::testing::rewrite_without_checksum(path, meta);
  expect_refused(*c, path, {path + ": no 'cma.checksum' entry", "header is damaged"});
}

// ---- --pretrained_clip_name: a directory or a missing path is reported as such ----

// The message of the cma::Error resolve_weights throws for `name` ("" when it does not throw).
std::string resolve_error(const std::string& name) {
  try {
    resolve_weights(name);
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

TEST(WeightsPath, DirectoryIsAClearError) {
  const cma::testing::TempDir dir("weights_dir");
  std::ofstream(dir / "ViT-B-32.pt") << "x";
  const std::string msg = resolve_error(dir.path());
  EXPECT_NE(msg.find("--pretrained_clip_name " + dir.path() + " is a directory; give the weights file"),
            std::string::npos)
      << msg;
  EXPECT_NE(msg.find("it holds ViT-B-32.pt"), std::string::npos) << msg;
}

// Sets HOME for one test (the cache lives under it) and puts it back.
struct ScopedHome {
  std::string old;
  bool had;
  explicit ScopedHome(const std::string& home) : had(std::getenv("HOME") != nullptr) {
    if (had) old = std::getenv("HOME");
    ::setenv("HOME", home.c_str(), 1);
  }
  ~ScopedHome() { had ? ::setenv("HOME", old.c_str(), 1) : ::unsetenv("HOME"); }
};

TEST(WeightsPath, MissingPathIsNotMangledIntoACacheName) {
  const cma::testing::TempDir home("weights_home");
  const ScopedHome scoped(home.path());
  std::string msg = resolve_error("x/ViT.pt");
  EXPECT_NE(msg.find("--pretrained_clip_name: the weights file x/ViT.pt does not exist (nor does its folder x)"),
            std::string::npos)
      << msg;
  EXPECT_EQ(msg.find(".pt.pt"), std::string::npos) << msg;
  EXPECT_EQ(msg.find(".cache/clip/x"), std::string::npos) << msg;
  EXPECT_EQ(msg.find("random:x/ViT.pt"), std::string::npos) << msg;
  msg = resolve_error(home / "ViT-B-32.pt");  // an absolute path in an existing folder
  EXPECT_NE(msg.find("the weights file " + (home / "ViT-B-32.pt") + " does not exist;"), std::string::npos) << msg;
  // Model names still map into the cache.
  msg = resolve_error("ViT-L/14");
  EXPECT_NE(msg.find(home.path() + "/.cache/clip/ViT-L-14.pt"), std::string::npos) << msg;
}

}  // namespace
}  // namespace cma::model
