// The cross-modal adapter's structure: shapes for any r and ds, the shared slice's gradient,
// option validation, and the parameter count of ViT-B/32.
#include <gtest/gtest.h>

#include <set>
#include <string>

#include "cma/core/error.h"
#include "cma/model/clip.h"
#include "cma/model/head.h"
#include "cma/model/weights.h"

namespace cma::model {
namespace {

ModelOptions opts(int r, int ds, const std::string& act = "quick_gelu") {
  ModelOptions o;
  o.adapter.reduction_dims = r;
  o.adapter.share_dim = ds;
  o.adapter.non_linearity = act;
  return o;
}

struct Batch {
  torch::Tensor ids, video, mask;
};

Batch tiny_batch(const ClipConfig& c, int B = 3, int F = 2, int L = 6) {
  torch::manual_seed(3);
  auto ids = torch::randint(1, c.vocab_size - 2, {B, L}, torch::kLong);
  ids.index_put_({torch::indexing::Slice(), L - 2}, c.vocab_size - 1);  // end token, the largest id
  auto video = torch::randn({B, F, 3, c.image_resolution, c.image_resolution});
  auto mask = torch::ones({B, F}, torch::kLong);
  mask.index_put_({0, F - 1}, 0);
  return {ids, video, mask};
}

torch::Tensor loss_of(ClipModelImpl& m, const Batch& b, bool detach_text, bool detach_video) {
  auto t = m.encode_text(b.ids);
  auto v = m.encode_video(b.video);
  if (detach_text) t = t.detach();
  if (detach_video) v = v.detach();
  return symmetric_ce_loss(retrieval_logits(t, v, b.mask, m.logit_scale, m.options().head));
}

TEST(Adapter, SharedSliceGradientIsSumOfBothEncoders) {
  auto m = build_model("random:tiny", opts(8, 16), 1);
  const auto b = tiny_batch(m->config());
  auto share = m->adapter_tensors().at("vt_adapter_up_share_weight");
  auto grad_with = [&](bool dt, bool dv) {
    share.mutable_grad() = torch::Tensor();
    loss_of(*m, b, dt, dv).backward();
    return share.grad().clone();
  };
  const auto full = grad_with(false, false);
  const auto from_vision = grad_with(true, false);  // text embeddings held fixed
  const auto from_text = grad_with(false, true);    // frame embeddings held fixed
  EXPECT_GT(from_vision.abs().max().item<double>(), 0.0);
  EXPECT_GT(from_text.abs().max().item<double>(), 0.0);
  // Vision uses only the first 2*Lv slices; text uses all of them.
  EXPECT_TRUE(torch::allclose(full, from_vision + from_text, 1e-6, 1e-9))
      << "max diff " << (full - from_vision - from_text).abs().max().item<double>();
}

TEST(Adapter, OnlyAdaptersRequireGradients) {
  auto m = build_model("random:tiny", opts(4, 8), 1);
  // The reference's adapter parameter names, written out (not taken from the code under test).
  const std::set<std::string> adapters = {
      "visual_adapter_down_weight",     "visual_adapter_down_bias",     "visual_adapter_up_unique_weight",
      "visual_adapter_up_unique_bias",  "text_adapter_down_weight",     "text_adapter_down_bias",
      "text_adapter_up_unique_weight",  "text_adapter_up_unique_bias",  "vt_adapter_up_share_weight",
      "vt_adapter_up_share_bias"};
  std::set<std::string> trainable_names;
  int64_t trainable = 0, frozen = 0;
  for (const auto& kv : m->named_parameters(true)) {
    if (kv.value().requires_grad()) {
      trainable_names.insert(kv.key());
      trainable += kv.value().numel();
    } else {
      ++frozen;
    }
  }
  EXPECT_EQ(trainable_names, adapters);
  EXPECT_GT(frozen, 0) << "the backbone's parameters should be there, frozen";
  EXPECT_FALSE(m->logit_scale.requires_grad());
  // tiny: 2+2 layers (K = 4 adapters per encoder), Dv 128, Dt 64, r 4, ds 8:
  // visual down 4*(4*128+4) + visual up 4*(120*4+120) + text down 4*(4*64+4) + text up 4*(56*4+56)
  // + shared up 4*(8*4+8) = 2064 + 2400 + 1040 + 1120 + 160.
  EXPECT_EQ(trainable, 6784);
}

TEST(Adapter, ShareDimExtremesBuildAndRun) {
  for (int ds : {0, 64}) {  // 64 = the tiny text width: no text-unique tensors
    auto m = build_model("random:tiny", opts(3, ds), 1);
    const auto names = m->adapter_tensors();
    ASSERT_EQ(names.size(), ds == 0 || ds == 64 ? 8u : 10u) << "ds=" << ds;
    EXPECT_EQ(names.count("vt_adapter_up_share_weight"), ds > 0 ? 1u : 0u) << "ds=" << ds;
    EXPECT_EQ(names.count("text_adapter_up_unique_weight"), ds < 64 ? 1u : 0u) << "ds=" << ds;
    const auto b = tiny_batch(m->config());
    auto loss = loss_of(*m, b, false, false);
    loss.backward();
    EXPECT_TRUE(std::isfinite(loss.item<double>()));
    for (const auto& kv : names) EXPECT_TRUE(kv.second.grad().defined()) << kv.first << " ds=" << ds;
  }
}

TEST(Adapter, EveryActivationRunsAndDiffers) {
  std::vector<double> losses;
  for (const auto* act : {"quick_gelu", "gelu", "gelu_new", "relu", "swish", "silu"}) {
    auto o = opts(8, 16, act);
    o.adapter.init_std = 0.5;  // large enough that the activation visibly matters
    auto m = build_model("random:tiny", o, 1);
    losses.push_back(loss_of(*m, tiny_batch(m->config()), false, false).item<double>());
  }
  EXPECT_NE(losses[0], losses[1]);
  EXPECT_NE(losses[1], losses[2]);
  EXPECT_NE(losses[0], losses[3]);
  EXPECT_DOUBLE_EQ(losses[4], losses[5]);  // swish and silu are one function
}

TEST(Adapter, DropoutOnlyActsInTraining) {
  auto o = opts(8, 16);
  o.adapter.dropout = 0.5;
  o.adapter.init_std = 0.5;
  auto m = build_model("random:tiny", o, 1);
  const auto b = tiny_batch(m->config());
  m->eval();
  const auto a = m->encode_text(b.ids), a2 = m->encode_text(b.ids);
  EXPECT_TRUE(torch::equal(a, a2));
  m->train();
  EXPECT_FALSE(torch::equal(a, m->encode_text(b.ids)));
}

TEST(Adapter, InvalidOptionsFailNamingTheFlag) {
  auto expect_error = [](const ModelOptions& o, const std::string& needle) {
    try {
      build_model("random:tiny", o, 1);
      ADD_FAILURE() << "expected an error mentioning " << needle;
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find(needle), std::string::npos) << e.what();
    }
  };
  expect_error(opts(0, 0), "--adapter-reduction-dims");
  expect_error(opts(8, 65), "--adapter-share-dim 65 exceeds the text width 64");
  expect_error(opts(8, -1), "--adapter-share-dim");
  expect_error(opts(8, 16, "tanh"), "--adapter-non-linearity 'tanh'");
}

TEST(Adapter, ViTB32CountsMatchThePaper) {
  const auto c = ClipConfig::preset("ViT-B/32");
  EXPECT_EQ(count_adapter_parameters(c, opts(8, 16).adapter), 519168);
}

TEST(Adapter, TruncatedNormalInitHasTheRequestedStd) {
  auto o = opts(8, 16);
  o.adapter.init_std = 0.02;
  auto m = build_model("random:small", o, 5);
  const auto w = m->adapter_tensors().at("visual_adapter_down_weight");
  EXPECT_NEAR(w.std().item<double>(), 0.02, 0.001);
  EXPECT_EQ(m->adapter_tensors().at("visual_adapter_down_bias").abs().max().item<double>(), 0.0);
}

}  // namespace
}  // namespace cma::model
