// The training loop in-process: exact resume, evaluation independent of batch size, and the
// non-finite guard.
#include <gtest/gtest.h>

#include <csignal>
#include <cstdio>
#include <filesystem>

#include "cma/core/error.h"
#include "cma/core/safetensors.h"
#include "cma/core/tensor_io.h"
#include "cma/model/weights.h"
#include "cma/train/checkpoint.h"
#include "run_fixture.h"
#include "st_damage.h"

#if CMA_HAVE_SYNTHETIC_FRAMES
namespace cma::testing {
namespace {

TensorMap read_adapters(const std::string& path) {
  st::File f(path);
  return load_tensors(f);
}

int run(train::RunConfig c, const std::function<void(const train::TrainState&)>& on_step = {}) {
  auto comm = dist::make_single_process();
  train::Trainer t(c, *comm);
  t.on_step = on_step;
  return t.run();
}

// A run stopped (as by SIGTERM) at two points and resumed ends with the same adapters, bit for bit,
// as one that ran through. `setup` adjusts each run's config (the device, the precision).
void expect_interrupted_run_is_bitwise_identical(const std::function<void(train::RunConfig&)>& setup) {
  const auto tree = make_tiny_tree("resume");
  auto full = tiny_run(tree, "resume_full");
  setup(full);
  int64_t full_steps = 0;
  ASSERT_EQ(run(full, [&](const train::TrainState& s) { full_steps = s.global_step; }), 0);
  ASSERT_EQ(full_steps, 8) << "2 epochs of 24 pairs in batches of 6";
  for (int stop_at : {2, 5}) {  // mid-epoch (between checkpoints) and just after an epoch boundary
    auto cut = tiny_run(tree, "resume_cut");
    setup(cut);
    train::clear_stop_request();
    int64_t last_before_stop = 0;
    const int rc = run(cut, [&](const train::TrainState& s) {
      last_before_stop = s.global_step;
      if (s.global_step == stop_at) train::request_stop(SIGTERM);
    });
    train::clear_stop_request();
    EXPECT_EQ(rc, train::kExitSigterm);
    EXPECT_EQ(last_before_stop, stop_at);
    // The same config again resumes automatically: its first step is the one after the stop, and
    // it takes only the steps left (training is deterministic, so a run that silently started
    // over would also end with identical adapters; these checks tell the two apart).
    std::vector<int64_t> resumed_steps;
    EXPECT_EQ(run(cut, [&](const train::TrainState& s) { resumed_steps.push_back(s.global_step); }), 0);
    ASSERT_FALSE(resumed_steps.empty()) << "the resumed run took no steps";
    EXPECT_EQ(resumed_steps.front(), stop_at + 1) << "the re-run did not resume from the checkpoint at step " << stop_at;
    EXPECT_EQ(static_cast<int64_t>(resumed_steps.size()), full_steps - stop_at);
    for (const char* file : {"adapters_epoch1.safetensors", "adapters_epoch2.safetensors"}) {
      const auto a = read_adapters(full.train.output_dir + "/" + file), b = read_adapters(cut.train.output_dir + "/" + file);
      ASSERT_FALSE(a.empty()) << file;
      ASSERT_EQ(a.size(), b.size());
      for (const auto& kv : a) EXPECT_TRUE(torch::equal(kv.second, b.at(kv.first))) << file << " " << kv.first << " stop at " << stop_at;
    }
  }
}

TEST(Resume, InterruptedRunIsBitwiseIdentical) {
  expect_interrupted_run_is_bitwise_identical([](train::RunConfig&) {});
}

#if CMA_WITH_CUDA
// The reference's fp16 mode on the GPU: fp16 backbone, fp16 adapters and optimizer state. Bitwise
// equality across two runs on a GPU needs --deterministic (model/layers.h says what it changes).
TEST(Resume, CudaFp16AdaptersInterruptedRunIsBitwiseIdentical) {
  if (!torch::cuda::is_available()) GTEST_SKIP() << "built with CUDA, but no GPU is visible";
  expect_interrupted_run_is_bitwise_identical([](train::RunConfig& c) {
    c.train.device = "cuda";
    c.train.deterministic = true;
    c.model.precision = "fp16";
    c.model.adapter.convert2fp16 = true;
  });
}
#endif

// A checkpoint damaged on disk (one flipped byte in a trainable tensor, which may still be a finite
// number) is refused when the run resumes, naming the file and what to do, before any step; the
// advice given (--no-resume) then starts the run over.
TEST(Resume, DamagedCheckpointIsRefusedBeforeTraining) {
  const auto tree = make_tiny_tree("damaged");
  auto c = tiny_run(tree, "damaged");
  train::clear_stop_request();
  const int rc = run(c, [&](const train::TrainState& s) {
    if (s.global_step == 2) train::request_stop(SIGTERM);
  });
  train::clear_stop_request();
  ASSERT_EQ(rc, train::kExitSigterm);
  const auto ckpt = c.train.output_dir + "/checkpoint.safetensors";
  ASSERT_TRUE(std::filesystem::exists(ckpt));
  flip_data_byte(ckpt, "param.visual_adapter_down_weight");
  int steps = 0;
  try {
    run(c, [&](const train::TrainState&) { ++steps; });
    ADD_FAILURE() << "expected the damaged checkpoint to be refused";
  } catch (const Error& e) {
    const std::string msg = e.what();
    EXPECT_NE(msg.find(ckpt + ": checksum mismatch: the file is damaged"), std::string::npos) << msg;
    EXPECT_NE(msg.find("--no-resume"), std::string::npos) << msg;
  }
  EXPECT_EQ(steps, 0) << "training ran from a damaged checkpoint";
  c.train.resume = false;
  std::vector<int64_t> fresh;
  EXPECT_EQ(run(c, [&](const train::TrainState& s) { fresh.push_back(s.global_step); }), 0);
  ASSERT_FALSE(fresh.empty());
  EXPECT_EQ(fresh.front(), 1) << "--no-resume starts over";
}

TEST(Resume, DifferentConfigIsRefused) {
  const auto tree = make_tiny_tree("refuse");
  auto c = tiny_run(tree, "resume_refuse");
  c.train.max_steps = 1;
  c.resolved = {{"train", {{"lr", 1e-3}}}};
  ASSERT_EQ(run(c), 0);
  c.resolved = {{"train", {{"lr", 5e-3}}}};
  EXPECT_THROW(run(c), Error);
}

TEST(EvalBatch, MetricsDoNotDependOnBatchOrChunkSize) {
  const auto tree = make_tiny_tree("evalbatch", 4, 11);
  std::vector<nlohmann::json> results;
  for (auto [batch, chunk] : std::vector<std::pair<int, int>>{{1, 256}, {4, 3}, {16, 5}}) {
    auto c = tiny_run(tree, "evalbatch");
    c.train.tune = train::Tune::None;
    c.train.batch_size_val = batch;
    c.eval.sim_chunk = chunk;
    auto comm = dist::make_single_process();
    train::Trainer t(c, *comm);
    ASSERT_EQ(t.run(), 0);
    results.push_back(eval::to_json(t.evaluate().plain));
  }
  EXPECT_EQ(results[0], results[1]);
  EXPECT_EQ(results[0], results[2]);
}

// Adam-style updates move each element by about the learning rate whatever the gradient's scale,
// so after a few steps the largest change of a tensor, divided by its group's rate, is of order 1.
// With lr 1000 times clip_lr, a backbone trained at lr (or adapters at clip_lr) is off by 1000.
TEST(TuneModes, FullTrainsTheBackboneAtClipLrAndAdaptersAtLr) {
  const auto tree = make_tiny_tree("tunefull");
  auto c = tiny_run(tree, "tune_full");
  c.train.tune = train::Tune::Full;
  c.train.optim.lr = 1e-3;
  c.train.clip_lr = 1e-6;
  c.train.max_steps = 3;  // BertAdam's first step has rate 0 (warmup): two real updates
  auto comm = dist::make_single_process();
  train::Trainer t(c, *comm);
  ASSERT_EQ(t.run(), 0);
  ASSERT_EQ(t.state().global_step, 3);
  // The run rebuilt the same seeded model: compare against a fresh copy.
  auto fresh = model::build_model("random:tiny", c.model, c.train.seed);
  const auto moved = [&](const std::string& name) {
    const auto a = t.model().named_parameters(true)[name], b = fresh->named_parameters(true)[name];
    return (a - b).abs().max().item<double>();
  };
  for (const char* name : {"visual.transformer.resblocks.0.attn.in_proj_weight", "token_embedding.weight",
                           "transformer.resblocks.1.mlp.c_fc.weight"}) {
    const double per_rate = moved(name) / c.train.clip_lr;
    std::printf("  %-52s moved %.3g = %.2f x clip_lr\n", name, moved(name), per_rate);
    EXPECT_GT(per_rate, 0.1) << name << " moved " << moved(name) << ", expected about clip_lr " << c.train.clip_lr;
    EXPECT_LT(per_rate, 30.0) << name << " moved " << moved(name) << ", expected about clip_lr " << c.train.clip_lr;
  }
  for (const char* name : {"visual_adapter_down_weight", "text_adapter_down_weight"}) {
    const double per_rate = moved(name) / c.train.optim.lr;
    std::printf("  %-52s moved %.3g = %.2f x lr\n", name, moved(name), per_rate);
    EXPECT_GT(per_rate, 0.1) << name << " moved " << moved(name) << ", expected about lr " << c.train.optim.lr;
    EXPECT_LT(per_rate, 30.0) << name << " moved " << moved(name) << ", expected about lr " << c.train.optim.lr;
  }
  const auto params = t.model().named_parameters(true);
  ASSERT_GT(params.size(), 10u);
  for (const auto& kv : params) EXPECT_TRUE(kv.value().requires_grad()) << kv.key();
}

// --tune clip (pretraining, or fine-tuning without adapters): the backbone trains, the adapters are
// zero and stay so, and the trained CLIP is saved in OpenAI's names where --weights reads it back
// into the same model.
TEST(TuneModes, ClipTrainsTheBackboneAloneAndSavesItForWeights) {
  const auto tree = make_tiny_tree("tuneclip");
  auto c = tiny_run(tree, "tune_clip");
  c.train.tune = train::Tune::Clip;
  c.train.clip_lr = 1e-3;
  c.train.epochs = 1;
  auto comm = dist::make_single_process();
  train::Trainer t(c, *comm);
  ASSERT_EQ(t.run(), 0);
  for (const auto& kv : t.model().adapter_tensors()) {
    EXPECT_EQ(kv.second.abs().max().item<double>(), 0.0) << kv.first;
    EXPECT_FALSE(kv.second.requires_grad()) << kv.first;
  }
  auto fresh = model::build_model("random:tiny", c.model, c.train.seed);
  const auto trained = t.model().backbone_tensors();
  EXPECT_GT((trained.at("token_embedding.weight") - fresh->backbone_tensors().at("token_embedding.weight")).abs().max().item<double>(), 0);

  const std::string saved = c.train.output_dir + "/backbone_last.safetensors";
  ASSERT_TRUE(std::filesystem::exists(saved));
  ASSERT_TRUE(std::filesystem::exists(c.train.output_dir + "/backbone_best.safetensors"));
  EXPECT_TRUE(st::File(saved).checksum_verified());
  auto reloaded = model::build_model(saved, c.model, c.train.seed);
  EXPECT_EQ(reloaded->config().describe(), t.model().config().describe());
  for (const auto& kv : reloaded->backbone_tensors()) {
    EXPECT_TRUE(torch::equal(kv.second, trained.at(kv.first))) << kv.first;
  }
  // A new run in the folder leaves no backbone of the old one behind.
  auto again = tiny_run(tree, "tune_clip");
  again.train.max_steps = 1;
  train::Trainer t2(again, *comm);
  ASSERT_EQ(t2.run(), 0);
  EXPECT_FALSE(std::filesystem::exists(c.train.output_dir + "/backbone_best.safetensors"));
}

TEST(TuneModes, ClipRefusesAnAdaptersFile) {
  train::TrainOptions o;
  o.tune = train::Tune::Clip;
  o.adapters = "a.safetensors";
  EXPECT_THROW(
      {
        try {
          o.validate();
        } catch (const Error& e) {
          EXPECT_NE(std::string(e.what()).find("--tune clip trains CLIP without adapters"), std::string::npos) << e.what();
          throw;
        }
      },
      Error);
}

TEST(TuneModes, NoneEvaluatesWithoutTraining) {
  const auto tree = make_tiny_tree("tunenone", 4, 5);
  auto c = tiny_run(tree, "tune_none");
  c.train.tune = train::Tune::None;
  auto comm = dist::make_single_process();
  train::Trainer t(c, *comm);
  ASSERT_EQ(t.run(), 0);
  EXPECT_EQ(t.state().global_step, 0);
  EXPECT_TRUE(std::filesystem::exists(c.train.output_dir + "/eval.json"));
  for (const auto& kv : t.model().named_parameters(true)) EXPECT_FALSE(kv.value().requires_grad()) << kv.key();
}

TEST(NonFinite, RunStopsWithClearErrorAndNoBadCheckpoint) {
  const auto tree = make_tiny_tree("nonfinite");
  auto c = tiny_run(tree, "nonfinite");
  // No warmup: step 1 is finite and applies a rate of 1e30, making the adapters huge (still finite
  // in fp32); the forward pass of every later step overflows.
  c.train.optim.lr = 1e30;
  c.train.optim.warmup = 0.0;
  c.train.max_nonfinite_steps = 3;
  c.train.checkpoint_every = 1;
  try {
    run(c);
    FAIL() << "expected the run to stop";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("non-finite steps in a row"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("The last good checkpoint is " + c.train.output_dir + "/checkpoint.safetensors"),
              std::string::npos)
        << e.what();
  } catch (const std::exception& e) {
    FAIL() << "unexpected error type: " << e.what();
  }
  // Step 1 was finite, so with checkpoint_every 1 a checkpoint must exist, and the overflowing steps
  // after it must not have written anything non-finite into it.
  const auto ckpt = c.train.output_dir + "/checkpoint.safetensors";
  ASSERT_TRUE(std::filesystem::exists(ckpt)) << "no checkpoint after the finite first step";
  const auto saved = train::load_checkpoint(ckpt);
  EXPECT_GE(saved.state.global_step, 1);
  ASSERT_FALSE(saved.params.empty());
  st::File f(ckpt);
  int checked = 0;
  for (const auto& [name, t] : load_tensors(f)) {
    if (!t.is_floating_point()) continue;
    EXPECT_TRUE(torch::isfinite(t).all().item<bool>()) << name;
    ++checked;
  }
  EXPECT_GE(checked, static_cast<int>(saved.params.size())) << "every trainable tensor (and the moments) is checked";
}

TEST(NonFinite, StopWithoutACheckpointDoesNotPointAtOne) {
  const auto tree = make_tiny_tree("nonfinite_nockpt");
  auto c = tiny_run(tree, "nonfinite_nockpt");
  c.train.optim.lr = 1e30;
  c.train.optim.warmup = 0.0;
  c.train.max_nonfinite_steps = 2;
  c.train.checkpoint_every = 1000;  // none written before the run stops
  try {
    run(c);
    FAIL() << "expected the run to stop";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("No checkpoint was written yet"), std::string::npos) << e.what();
  }
  EXPECT_FALSE(std::filesystem::exists(c.train.output_dir + "/checkpoint.safetensors"));
}

}  // namespace
}  // namespace cma::testing
#else
TEST(Resume, NeedsAFrameEncoder) {
  GTEST_SKIP() << "built without OpenCV and TurboJPEG (CMA_HAVE_SYNTHETIC_FRAMES): no synthetic frames to train on";
}
#endif
