// The fp16 stall watch: which share of the weights that had a gradient an update left unchanged.
#include <gtest/gtest.h>

#include "cma/train/optimizer.h"

namespace cma::testing {
namespace {

TEST(StalledFraction, CountsWeightsAnFp16UpdateCouldNotMove) {
  // fp16 holds 1.0 with a spacing of 2^-10: adding 1e-5 rounds back to 1.0, adding 1e-2 does not.
  const auto half = torch::TensorOptions().dtype(torch::kHalf);
  const auto before = torch::ones({4}, half);
  const auto step = torch::tensor({1e-5f, 1e-5f, 1e-2f, 1e-2f}).to(torch::kHalf);
  const auto after = before + step;
  EXPECT_TRUE(torch::equal(after.slice(0, 0, 2), before.slice(0, 0, 2))) << "fp16 rounding is not what the test assumes";
  const auto all = torch::ones({4}, torch::kBool);
  EXPECT_DOUBLE_EQ(train::stalled_fraction({before}, {after}, {all}), 0.5);
  // Weights without a gradient are not stalled, whatever they did.
  const auto first_three = torch::tensor({true, true, true, false});
  EXPECT_DOUBLE_EQ(train::stalled_fraction({before}, {after}, {first_three}), 2.0 / 3.0);
  EXPECT_DOUBLE_EQ(train::stalled_fraction({before}, {after}, {torch::zeros({4}, torch::kBool)}), 0.0);
  // fp32 master weights move with the same update.
  const auto before32 = torch::ones({4});
  EXPECT_DOUBLE_EQ(train::stalled_fraction({before32}, {before32 + step.to(torch::kFloat)}, {all}), 0.0);
}

}  // namespace
}  // namespace cma::testing
