// Test helpers for the annotation readers (vatex_test.cpp, didemo_test.cpp, activitynet_test.cpp,
// lsmdc_test.cpp, karpathy_test.cpp): writing hand-made annotation files and checking what the
// readers return or throw.
#pragma once
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <utility>
#include <vector>

#include "cma/core/error.h"
#include "cma/data/caption_sets.h"

namespace cma::testing {

// Writes `text` byte for byte, creating the parent folders.
inline void write_file(const std::filesystem::path& path, const std::string& text) {
  std::filesystem::create_directories(path.parent_path());
  std::ofstream out(path, std::ios::binary);
  out << text;
  ASSERT_TRUE(out.good()) << "cannot write " << path;
}

// The message of the cma::Error `f` throws, or a test failure when it throws none.
template <class F>
std::string error_of(F&& f) {
  try {
    f();
  } catch (const cma::Error& e) {
    return e.what();
  }
  ADD_FAILURE() << "expected a cma::Error";
  return "";
}

// Pairs as (video, caption), so that EXPECT_EQ prints them on a mismatch.
using PairList = std::vector<std::pair<std::string, std::string>>;
inline PairList as_list(const std::vector<cma::data::Pair>& pairs) {
  PairList out;
  for (const auto& p : pairs) out.emplace_back(p.video_id, p.caption);
  return out;
}

}  // namespace cma::testing
