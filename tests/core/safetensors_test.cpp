#include "cma/core/safetensors.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <cstring>
#include <algorithm>
#include <fstream>
#include <iterator>

#include "cma/core/error.h"
#include "test_paths.h"

namespace {

TEST(Safetensors, ReadsFixtureHeaderAndMetadata) {
  const std::string path = cma::testing::fixture("parity/tinyA.safetensors");
  ASSERT_FALSE(path.empty()) << "parity/tinyA.safetensors not found in tests/data or ../shared";
  cma::st::File f(path);
  EXPECT_NE(f.meta("config").find("\"vision_width\": 128"), std::string::npos);
  const auto& ids = f.get("input.text_ids");
  EXPECT_EQ(ids.dtype, cma::st::DType::I64);
  EXPECT_EQ(ids.shape, (std::vector<int64_t>{6, 12}));
  EXPECT_THROW(f.get("no.such.tensor"), cma::Error);
}

TEST(Safetensors, RoundTripIsExactAndSorted) {
  const auto dir = std::filesystem::temp_directory_path() / "cma_st_test";
  std::filesystem::create_directories(dir);
  const std::string path = (dir / "rt.safetensors").string();
  std::vector<float> a = {1.5f, -2.0f, 3.25f, 0.0f, 7.0f, 8.0f};
  std::vector<int64_t> b = {42, -1};
  cma::st::write(path,
                 {{"z.b", cma::st::DType::I64, {2}, b.data(), b.size() * 8},
                  {"a.a", cma::st::DType::F32, {2, 3}, a.data(), a.size() * 4}},
                 {{"format", "cma-test"}, {"version", "1"}});
  cma::st::File f(path);
  EXPECT_EQ(f.names(), (std::vector<std::string>{"a.a", "z.b"}));
  EXPECT_EQ(f.meta("format"), "cma-test");
  const auto& va = f.get("a.a");
  ASSERT_EQ(va.nbytes, 24u);
  EXPECT_EQ(0, std::memcmp(va.data, a.data(), 24));
  EXPECT_EQ(reinterpret_cast<uintptr_t>(va.data) % 8, 0u) << "tensor data must stay 8-byte aligned";
  const auto& vb = f.get("z.b");
  EXPECT_EQ(0, std::memcmp(vb.data, b.data(), 16));
}

// The fixture was written by Python's safetensors: rewriting its tensors and metadata with our
// writer must give the same bytes, which is how we know Python reads what we write.
TEST(Safetensors, RewritingAPythonWrittenFileIsByteIdentical) {
  const std::string path = cma::testing::fixture("parity/tinyA.safetensors");
  ASSERT_FALSE(path.empty()) << "parity/tinyA.safetensors not found";
  cma::st::File f(path);
  std::vector<cma::st::TensorBytes> tensors;
  for (const auto& name : f.names()) {
    const auto& v = f.get(name);
    tensors.push_back({name, v.dtype, v.shape, v.data, v.nbytes});
  }
  const auto out = (std::filesystem::temp_directory_path() / "cma_st_rewrite.safetensors").string();
  cma::st::write(out, tensors, f.metadata());
  auto slurp = [](const std::string& p) {
    std::ifstream in(p, std::ios::binary);
    return std::string(std::istreambuf_iterator<char>(in), {});
  };
  const auto a = slurp(path), b = slurp(out);
  ASSERT_EQ(a.size(), b.size());
  EXPECT_TRUE(a == b) << "first differing byte at " << std::mismatch(a.begin(), a.end(), b.begin()).first - a.begin();
}

TEST(Safetensors, TruncatedFileFailsNamingIt) {
  const auto path = (std::filesystem::temp_directory_path() / "cma_st_bad.safetensors").string();
  std::ofstream(path) << "\xff\xff\xff\xff\xff\xff\x00\x00{}";
  try {
    cma::st::File f(path);
    FAIL() << "expected an error";
  } catch (const cma::Error& e) {
    EXPECT_NE(std::string(e.what()).find(path), std::string::npos) << e.what();
  }
}

TEST(Safetensors, SizeMismatchOnWriteIsRejected) {
  std::vector<float> a(3);
  EXPECT_THROW(cma::st::write("/tmp/cma_never.safetensors",
                              {{"a", cma::st::DType::F32, {2, 2}, a.data(), 12}}),
               cma::Error);
}

}  // namespace
