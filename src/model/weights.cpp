#include "cma/model/weights.h"

#include <cmath>
#include <cstdlib>
#include <filesystem>
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

}  // namespace

std::string resolve_weights(const std::string& name) {
  if (name.rfind("random:", 0) == 0 || std::filesystem::exists(name)) return name;
  std::string file = name;
  for (auto& ch : file) {
    if (ch == '/') ch = '-';
  }
  const char* home = std::getenv("HOME");
  const std::string cached = std::string(home ? home : "~") + "/.cache/clip/" + file + ".pt";
  if (std::filesystem::exists(cached)) return cached;
  throw Error("CLIP weights '" + name + "' not found: looked for the file '" + name + "' and for " + cached +
              ". Get " + file + ".pt from OpenAI's CLIP release (python -c \"import clip; clip.load('" + name +
              "')\" caches it there), pass its path, or use random:" + name + " for random weights");
}

TensorMap read_backbone(const std::string& path) {
  TensorMap out;
  if (ends_with(path, ".safetensors")) {
    st::File f(path);
    const bool prefixed = f.has("backbone.visual.conv1.weight");
    out = load_tensors(f, prefixed ? "backbone." : "");
  } else {
    out = read_torch_archive(path);
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

void load_adapters(ClipModelImpl& model, const std::string& path) {
  st::File f(path);
  const auto format = f.meta("format");
  require(format.empty() || format == kAdapterFormat,
          path + ": format '" + format + "' is not an adapter file (" + kAdapterFormat + ")");
  const auto version = f.meta("format_version", std::to_string(kAdapterFormatVersion));
  require(std::stoi(version) <= kAdapterFormatVersion,
          path + ": adapter format version " + version + " is newer than this build reads (" +
              std::to_string(kAdapterFormatVersion) + "); upgrade cma");
  const auto act = f.meta("activation");
  if (!act.empty() && act != model.options().adapter.non_linearity) {
    log::warn("model", "{} was trained with activation {}, the model uses {}", path, act,
              model.options().adapter.non_linearity);
  }
  assign_adapters(model, load_tensors(f), path);
}

}  // namespace cma::model
