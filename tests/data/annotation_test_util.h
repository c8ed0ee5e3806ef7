// Test helpers for the annotation readers (vatex_test.cpp, didemo_test.cpp, activitynet_test.cpp,
// lsmdc_test.cpp, karpathy_test.cpp, msvd_test.cpp, caption_sets_test.cpp): writing hand-made
// annotation files and checking what the readers return or throw. Every reader's tests build a
// folder, read it and look for the same kinds of fragment in the error, so those steps live here
// once and each test file keeps only its files' names and contents. A reader test includes this
// header for gtest, the readers (cma/data/caption_sets.h) and TempDir as well.
#pragma once
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <utility>
#include <vector>

#include "cma/core/error.h"
#include "cma/data/caption_sets.h"
#include "cma/data/options.h"
#include "test_tmp.h"

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

// (file name, contents) pairs, written in this order.
using FileList = std::vector<std::pair<std::string, std::string>>;

// An annotation folder: writes each file into `dir` and returns the options that point
// --datatype and --anno_path at it (the other options keep their defaults).
inline cma::data::DataOptions layout(const TempDir& dir, cma::data::Datatype datatype, const FileList& files) {
  for (const auto& [name, text] : files) write_file(dir / name, text);
  cma::data::DataOptions o;
  o.datatype = datatype;
  o.anno_path = dir.path();
  return o;
}

// The message of the cma::Error that `read` (a reader such as cma::data::read_vatex) throws on
// `o`, or a test failure when it throws none.
template <class Read>
std::string read_error(Read&& read, const cma::data::DataOptions& o) {
  return error_of([&] { read(o); });
}

// Whether `text` contains every one of `fragments`; a failure names each missing fragment and
// shows the text. Written as EXPECT_TRUE(contains_all(msg, {...})) so that a failure points at
// the test's line. An empty list is a failure, so that the check cannot pass by checking nothing.
inline ::testing::AssertionResult contains_all(const std::string& text, const std::vector<std::string>& fragments) {
  if (fragments.empty()) return ::testing::AssertionFailure() << "contains_all: no fragments to look for";
  std::string missing;
  for (const std::string& f : fragments) {
    if (text.find(f) == std::string::npos) missing += "\n  missing: " + f;
  }
  if (missing.empty()) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure() << "the text lacks" << missing << "\n  text: " << text;
}

// Pairs as (video, caption), so that EXPECT_EQ prints them on a mismatch.
using PairList = std::vector<std::pair<std::string, std::string>>;
inline PairList as_list(const std::vector<cma::data::Pair>& pairs) {
  PairList out;
  for (const auto& p : pairs) out.emplace_back(p.video_id, p.caption);
  return out;
}

// What a reader should return for a tree: both splits' pairs in order, the test protocol, and the
// files it names as each split's source.
struct ExpectedSplits {
  PairList train, test;
  cma::data::TestProtocol protocol;
  std::string train_source, test_source;
};

// Whether `s` is `want`, field by field; a failure names each field that differs, with what was
// read and what was expected. Written as EXPECT_TRUE(splits_are(s, {...})).
inline ::testing::AssertionResult splits_are(const cma::data::Splits& s, const ExpectedSplits& want) {
  std::string diff;
  const auto check = [&diff](const char* field, const auto& got, const auto& expected) {
    if (got == expected) return;
    diff += std::string("\n  ") + field + "\n    read:     " + ::testing::PrintToString(got) +
            "\n    expected: " + ::testing::PrintToString(expected);
  };
  check("train", as_list(s.train), want.train);
  check("test", as_list(s.test), want.test);
  check("test_protocol (as a number)", static_cast<int>(s.test_protocol), static_cast<int>(want.protocol));
  check("train_source", s.train_source, want.train_source);
  check("test_source", s.test_source, want.test_source);
  if (diff.empty()) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure() << "the splits differ:" << diff;
}

// An annotation file's text and a fragment that the reader's error must contain.
struct ErrorCase {
  const char* text;
  const char* want;
};

}  // namespace cma::testing
