// The resume checkpoint's integrity: a checksum, dtypes and finite values checked, by key, before
// anything is used (the run-level test, a damaged checkpoint refused before training, is in
// trainer_test.cpp).
#include "cma/train/checkpoint.h"

#include <gtest/gtest.h>

#include <cmath>

#include "cma/core/error.h"
#include "cma/core/safetensors.h"
#include "st_damage.h"
#include "test_tmp.h"

namespace cma::train {
namespace {

// What save_checkpoint writes for one trainable tensor "w".
Checkpoint sample_checkpoint() {
  Checkpoint c;
  c.params["w"] = torch::ones({2, 3});
  c.optimizer["exp_avg.w"] = torch::full({2, 3}, 0.5f);
  c.optimizer["exp_avg_sq.w"] = torch::full({2, 3}, 0.25f);
  c.optimizer["step"] = torch::full({1}, 7, torch::kLong);
  c.rng = cpu_rng_state();
  c.state.global_step = 7;
  c.config = {{"train", {{"lr", 1e-3}}}};
  return c;
}

// load_checkpoint must throw a cma::Error whose message holds every one of `parts`.
void expect_refused(const std::string& path, const std::vector<std::string>& parts) {
  try {
    load_checkpoint(path);
    ADD_FAILURE() << "expected load_checkpoint to refuse " << path;
  } catch (const Error& e) {
    const std::string msg = e.what();
    for (const auto& part : parts) EXPECT_NE(msg.find(part), std::string::npos) << "'" << part << "' not in: " << msg;
  }
}

TEST(Checkpoint, RoundTripCarriesAVerifiedChecksum) {
  const cma::testing::TempDir dir("ckpt");
  const auto path = dir / "checkpoint.safetensors";
  save_checkpoint(path, sample_checkpoint());
  EXPECT_TRUE(st::File(path).checksum_verified());
  const auto c = load_checkpoint(path);
  EXPECT_EQ(c.state.global_step, 7);
  EXPECT_TRUE(torch::equal(c.optimizer.at("exp_avg.w"), torch::full({2, 3}, 0.5f)));
  EXPECT_TRUE(torch::equal(c.rng, cpu_rng_state()));
}

TEST(Checkpoint, FlippedByteIsRefusedWithWhatToDo) {
  const cma::testing::TempDir dir("ckpt");
  const auto path = dir / "checkpoint.safetensors";
  save_checkpoint(path, sample_checkpoint());
  cma::testing::flip_data_byte(path, "optim.exp_avg_sq.w");
  expect_refused(path, {path + ": checksum mismatch: the file is damaged", "--no-resume"});
}

// save_checkpoint refuses non-finite parameters; moments (or a file written otherwise) are checked
// on load, so a NaN never reaches the optimizer.
TEST(Checkpoint, NonFiniteTensorIsRefusedNamingTheKey) {
  const cma::testing::TempDir dir("ckpt");
  const auto path = dir / "checkpoint.safetensors";
  auto c = sample_checkpoint();
  c.optimizer["exp_avg.w"][1][2] = std::nan("");
  c.optimizer["exp_avg.w"][0][0] = INFINITY;
  save_checkpoint(path, c);
  expect_refused(path, {path + ": tensor 'optim.exp_avg.w' holds 2 non-finite values (NaN or infinity) of 6",
                        "--no-resume"});
}

TEST(Checkpoint, UnexpectedDtypeIsRefusedNamingTheKey) {
  const cma::testing::TempDir dir("ckpt");
  const auto path = dir / "checkpoint.safetensors";
  auto c = sample_checkpoint();
  c.params["w"] = torch::ones({2, 3}, torch::kInt);
  save_checkpoint(path, c);
  expect_refused(path, {path + ": tensor 'param.w' has dtype I32; this file may hold F32, F16 or BF16 only"});
  c = sample_checkpoint();
  c.rng = c.rng.to(torch::kFloat);
  save_checkpoint(path, c);
  expect_refused(path, {"tensor 'rng.cpu' has dtype F32; this file may hold U8 only"});
}

// Checkpoints of the first version have no checksum and still resume; a version-2 one without it
// has lost it to damage.
TEST(Checkpoint, ChecksumIsRequiredFromVersion2) {
  const cma::testing::TempDir dir("ckpt");
  const auto path = dir / "checkpoint.safetensors";
  save_checkpoint(path, sample_checkpoint());
  auto meta = st::File(path).metadata();
  EXPECT_EQ(meta.at("format_version"), "2");
  cma::testing::rewrite_without_checksum(path, meta);
  expect_refused(path, {path + ": no 'cma.checksum' entry", "--no-resume"});
  meta["format_version"] = "1";
  cma::testing::rewrite_without_checksum(path, meta);
  EXPECT_EQ(load_checkpoint(path).state.global_step, 7);
  meta["state"] = "{\"epoch\": 1";
  cma::testing::rewrite_without_checksum(path, meta);
  expect_refused(path, {path + ": checkpoint metadata 'state' is not readable"});
  meta["format_version"] = "two";
  cma::testing::rewrite_without_checksum(path, meta);
  expect_refused(path, {path + ": metadata 'format_version' is 'two', not a version number"});
}

}  // namespace
}  // namespace cma::train
