#include "cma/model/weights.h"

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <set>
#include <sstream>

#include "cma/core/error.h"
#include "cma/core/log.h"

namespace cma::model {

TensorMap read_torch_archive(const std::string& path);  // weights_jit.cpp

namespace {

std::string shape_str(at::IntArrayRef s) {
  std::ostringstream o;
  o << "[";
  for (size_t i = 0; i < s.size(); ++i) o << (i ? ", " : "") << s[i];
  o << "]";
  return o.str();
}

bool ends_with(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

void copy_into(torch::Tensor& dst, const torch::Tensor& src, const std::string& key, const std::string& source) {
  require(dst.sizes() == src.sizes(), source + ": tensor '" + key + "' has shape " + shape_str(src.sizes()) +
                                          ", the model expects " + shape_str(dst.sizes()));
  torch::NoGradGuard no_grad;
  dst.copy_(src.to(dst.scalar_type()));
}

// Copies `tensors` into `params` by name. Every parameter must be present; a tensor without a
// parameter fails with `extra(key)` appended, unless that returns "" (tolerated).
template <typename ExtraFn>
void copy_named(std::map<std::string, torch::Tensor> params, const TensorMap& tensors, const std::string& source,
                const std::string& kind, ExtraFn extra) {
  for (auto& kv : params) {
    auto it = tensors.find(kv.first);
    require(it != tensors.end(), source + ": missing " + kind + "tensor '" + kv.first + "'");
    copy_into(kv.second, it->second, kv.first, source);
  }
  for (const auto& kv : tensors) {
    const std::string why = extra(kv.first);
    require(params.count(kv.first) != 0 || why.empty(), source + ": unexpected tensor '" + kv.first + "'" + why);
  }
}

const char* const kWeightsKinds =
    "(.safetensors, OpenAI's .pt archive such as ViT-B-32.pt, or a torch.save'd state dict)";

// True when --pretrained_clip_name names a file rather than a model: it has an extension or starts
// or ends like a path. OpenAI's model names (ViT-B/32, ViT-L/14@336px, RN50x4) have neither, so
// only they are mapped into ~/.cache/clip/; a mistyped path is reported as that path.
bool looks_like_path(const std::string& name) {
  const char first = name.front(), last = name.back();
  return std::filesystem::path(name).has_extension() || first == '/' || first == '.' || first == '~' || last == '/';
}

// Weights-like files directly inside `dir`, sorted, for the error about a directory.
std::vector<std::string> weights_files_in(const std::string& dir) {
  std::vector<std::string> out;
  std::error_code ec;
  for (const auto& e : std::filesystem::directory_iterator(dir, ec)) {
    const auto ext = e.path().extension().string();
    if (e.is_regular_file(ec) && (ext == ".pt" || ext == ".pth" || ext == ".bin" || ext == ".safetensors")) {
      out.push_back(e.path().filename().string());
    }
  }
  std::sort(out.begin(), out.end());
  return out;
}

std::string directory_message(const std::string& dir) {
  const auto files = weights_files_in(dir);
  std::string inside = "; it holds no .pt, .pth, .bin or .safetensors file";
  if (!files.empty()) {
    inside = "; it holds";
    for (size_t i = 0; i < files.size() && i < 5; ++i) inside += (i ? ", " : " ") + files[i];
    if (files.size() > 5) inside += ", ...";
  }
  return "--pretrained_clip_name " + dir + " is a directory; give the weights file " + kWeightsKinds + inside;
}

std::string missing_path_message(const std::string& path) {
  const std::filesystem::path p(path);
  std::string why = "--pretrained_clip_name: the weights file " + path + " does not exist";
  if (path.front() == '~') {
    why += " (a leading ~ is not expanded here: write the full path)";
  } else {
    if (p.has_parent_path() && !std::filesystem::exists(p.parent_path())) {
      why += " (nor does its folder " + p.parent_path().string() + ")";
    }
    if (p.is_relative()) {
      std::error_code ec;
      why += " (relative to the working directory " + std::filesystem::current_path(ec).string() + ")";
    }
  }
  return why + "; give an existing weights file " + kWeightsKinds +
         ", a model name such as ViT-B/32 (looked up in ~/.cache/clip/), or random:<ViT-B/32|ViT-B/16|small|tiny>";
}

}  // namespace

std::string resolve_weights(const std::string& name) {
  require(!name.empty(), std::string("--pretrained_clip_name is empty; give a weights file ") + kWeightsKinds +
                             ", a model name such as ViT-B/32, or random:<preset>");
  if (name.rfind("random:", 0) == 0) return name;
  if (std::filesystem::exists(name)) {
    // Handed on, a directory would fail inside LibTorch's archive reader with its own words.
    require(!std::filesystem::is_directory(name), directory_message(name));
    return name;
  }
  require(!looks_like_path(name), missing_path_message(name));
  std::string file = name;
  for (auto& ch : file) {
    if (ch == '/') ch = '-';
  }
  const char* home = std::getenv("HOME");
  const std::string stem = std::string(home ? home : "~") + "/.cache/clip/" + file;
  // The converted file first: it holds the same tensors and is mapped without running any code.
  const std::string converted = stem + ".safetensors", cached = stem + ".pt";
  if (std::filesystem::exists(converted)) return converted;
  if (std::filesystem::exists(cached)) return cached;
  throw Error("CLIP weights '" + name + "' not found: looked for the file '" + name + "', for " + converted +
              " and for " + cached + ". Get " + file + ".pt from OpenAI's CLIP release (python -c \"import clip; " +
              "clip.load('" + name + "')\" caches it there; `cma convert " + cached + " " + converted +
              "` then lets later runs map it without running its code), pass its path, or use random:" + name +
              " for random weights");
}

TensorMap read_weights_file(const std::string& path) {
  // By name, never by content: a ".safetensors" file that is not one fails here rather than
  // falling through to the TorchScript loader, so naming a file so is a promise that no code runs.
  if (ends_with(path, ".safetensors")) return load_tensors(st::File(path));
  return read_torch_archive(path);
}

TensorMap read_backbone(const std::string& path) {
  TensorMap out;
  if (ends_with(path, ".safetensors")) {
    st::File f(path);
    const bool prefixed = f.has("backbone.visual.conv1.weight");
    out = load_tensors(f, prefixed ? "backbone." : "");
  } else {
    out = read_weights_file(path);
  }
  for (const char* scalar : {"input_resolution", "context_length", "vocab_size"}) out.erase(scalar);
  return out;
}

void load_backbone(ClipModelImpl& model, const TensorMap& weights, const std::string& source) {
  // A reference checkpoint may carry adapters next to the backbone: those are not "unexpected".
  copy_named(model.backbone_tensors(), weights, source, "", [](const std::string& key) {
    return ClipModelImpl::is_adapter_name(key) ? "" : " (not part of a CLIP ViT backbone)";
  });
}

void random_init_backbone(ClipModelImpl& model) {
  torch::NoGradGuard no_grad;
  const auto& c = model.config();
  model.token_embedding->weight.normal_(0, 0.02);
  model.positional_embedding.normal_(0, 0.01);
  const double vscale = std::pow(c.vision_width, -0.5);
  model.visual->class_embedding.normal_(0, vscale);
  model.visual->positional_embedding.normal_(0, vscale);
  model.visual->proj.normal_(0, vscale);
  model.visual->conv1->weight.normal_(0, std::pow(3.0 * c.vision_patch_size * c.vision_patch_size, -0.5));
  // CLIP's scheme for its transformers, applied to both encoders.
  auto init_transformer = [](Transformer& t, int width) {
    const double attn_std = std::pow(width, -0.5);
    const double proj_std = attn_std * std::pow(2.0 * t->layers(), -0.5);
    const double fc_std = std::pow(2.0 * width, -0.5);
    for (int i = 0; i < t->layers(); ++i) {
      auto b = t->resblocks->ptr<ResidualBlockImpl>(i);
      b->attn->in_proj_weight.normal_(0, attn_std);
      b->attn->in_proj_bias.zero_();
      b->attn->out_proj->weight.normal_(0, proj_std);
      b->attn->out_proj->bias.zero_();
      b->mlp->c_fc->weight.normal_(0, fc_std);
      b->mlp->c_fc->bias.zero_();
      b->mlp->c_proj->weight.normal_(0, proj_std);
      b->mlp->c_proj->bias.zero_();
    }
  };
  init_transformer(model.visual->transformer, c.vision_width);
  init_transformer(model.transformer, c.transformer_width);
  model.text_projection.normal_(0, std::pow(c.transformer_width, -0.5));
  model.logit_scale.fill_(std::log(1.0 / 0.07));
}

ClipModel build_model(const std::string& spec, const ModelOptions& options, uint64_t seed) {
  torch::manual_seed(seed);
  const std::string random_prefix = "random:";
  ClipModel model{nullptr};
  if (spec.compare(0, random_prefix.size(), random_prefix) == 0) {
    model = ClipModel(ClipConfig::preset(spec.substr(random_prefix.size())), options);
    random_init_backbone(*model);
    torch::manual_seed(seed);  // adapters start the same whatever the backbone's size
    model->init_adapters();
  } else {
    const auto weights = read_backbone(spec);
    std::vector<std::string> names;
    for (const auto& kv : weights) names.push_back(kv.first);
    auto shape_of = [&](const std::string& k) {
      auto it = weights.find(k);
      return it == weights.end() ? std::vector<int64_t>{}
                                 : std::vector<int64_t>(it->second.sizes().begin(), it->second.sizes().end());
    };
    model = ClipModel(ClipConfig::infer(names, shape_of), options);
    load_backbone(*model, weights, spec);
    torch::manual_seed(seed);
    model->init_adapters();
  }
  model->freeze_backbone();
  return model;
}

void assign_adapters(ClipModelImpl& model, const TensorMap& tensors, const std::string& source) {
  const auto& a = model.options().adapter;
  const std::string shape = " does not belong to adapters with r=" + std::to_string(a.reduction_dims) +
                            ", ds=" + std::to_string(a.share_dim);
  copy_named(model.adapter_tensors(), tensors, source, "adapter ", [&](const std::string&) { return shape; });
}

void save_backbone(const ClipModelImpl& model, const std::string& path,
                   const std::map<std::string, std::string>& metadata) {
  TensorMap out;
  for (const auto& kv : model.backbone_tensors()) out[kv.first] = kv.second.detach().to(torch::kFloat);
  save_tensors(path, out, metadata);
}

void save_adapters(const ClipModelImpl& model, const std::string& path,
                   const std::map<std::string, std::string>& extra_metadata) {
  const auto& c = model.config();
  const auto& a = model.options().adapter;
  std::map<std::string, std::string> meta = extra_metadata;
  meta["format"] = kAdapterFormat;
  meta["format_version"] = std::to_string(kAdapterFormatVersion);
  meta["r"] = std::to_string(a.reduction_dims);
  meta["ds"] = std::to_string(a.share_dim);
  meta["activation"] = a.non_linearity;
  meta["vision_width"] = std::to_string(c.vision_width);
  meta["vision_layers"] = std::to_string(c.vision_layers);
  meta["text_width"] = std::to_string(c.transformer_width);
  meta["text_layers"] = std::to_string(c.transformer_layers);
  TensorMap out;
  for (const auto& kv : model.adapter_tensors()) out[kv.first] = kv.second.detach().to(torch::kFloat);
  save_tensors(path, out, meta);
}

namespace {

// Ends every refusal of an adapters file that is damaged or not what save_adapters writes.
const std::string kAdapterAdvice =
    "pass an intact adapters file to --adapters (a training run writes adapters_epoch<N>.safetensors and "
    "adapters_best.safetensors)";

// The file's record of how its adapters were made must match this run: the same shape options and
// activation (the flag to change is named), and the same backbone dimensions (adapters are trained
// for one backbone). Keys a file lacks (written by another tool) are not checked.
void check_adapter_metadata(const st::File& f, const ClipModelImpl& model) {
  const auto& a = model.options().adapter;
  const auto& c = model.config();
  struct Expect {
    const char* key;
    std::string run;
    const char* flag;
  };
  const Expect options[] = {{"r", std::to_string(a.reduction_dims), "--adapter_reduction_dims"},
                            {"ds", std::to_string(a.share_dim), "--adapter_share_dim"},
                            {"activation", a.non_linearity, "--adapter_non_linearity"}};
  for (const auto& e : options) {
    const auto stored = f.meta(e.key);
    require(stored.empty() || stored == e.run,
            f.path() + ": metadata '" + e.key + "' is " + stored + ", this run has " + e.flag + " " + e.run +
                "; pass " + e.flag + " " + stored + " to use these adapters");
  }
  const std::pair<const char*, int> backbone[] = {{"vision_width", c.vision_width},
                                                  {"vision_layers", c.vision_layers},
                                                  {"text_width", c.transformer_width},
                                                  {"text_layers", c.transformer_layers}};
  for (const auto& [key, value] : backbone) {
    const auto stored = f.meta(key);
    require(stored.empty() || stored == std::to_string(value),
            f.path() + ": metadata '" + key + "' is " + stored + ", the backbone of this run (" + c.describe() +
                ") has " + std::to_string(value) +
                "; these adapters were trained on another backbone: pass that one to --pretrained_clip_name");
  }
}

}  // namespace

void load_adapters(ClipModelImpl& model, const std::string& path) {
  const auto file = st::open_own(path, kAdapterAdvice);
  const st::File& f = *file;
  const auto format = f.meta("format");
  require(format.empty() || format == kAdapterFormat,
          path + ": format '" + format + "' is not an adapter file (" + kAdapterFormat + ")");
  // A flipped byte in the checksum's own key would otherwise make a damaged file look unchecked.
  require(st::format_version(f, kAdapterFormatVersion, 1, kAdapterAdvice) < 2 || f.checksum_verified(),
          path + ": no '" + st::kChecksumKey + "' entry, which every adapter file of format version 2 carries: " +
              "the header is damaged; " + kAdapterAdvice);
  check_adapter_metadata(f, model);
  TensorMap tensors;
  for (const auto& name : f.names()) {
    tensors[name] = load_checked(f, name, {st::DType::F32, st::DType::F16, st::DType::BF16}, kAdapterAdvice);
  }
  assign_adapters(model, tensors, path);
}

}  // namespace cma::model
