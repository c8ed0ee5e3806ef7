#include "cma/core/safetensors.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <cstring>
#include <algorithm>
#include <fstream>
#include <iterator>

#include "cma/core/error.h"
#include "test_paths.h"
#include "test_tmp.h"

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
  const cma::testing::TempDir dir("st");
  const std::string path = dir / "rt.safetensors";
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
  const cma::testing::TempDir dir("st");
  const std::string out = dir / "rewrite.safetensors";
  cma::st::write(out, tensors, f.metadata());
  auto slurp = [](const std::string& p) {
    std::ifstream in(p, std::ios::binary);
    return std::string(std::istreambuf_iterator<char>(in), {});
  };
  const auto a = slurp(path), b = slurp(out);
  ASSERT_EQ(a.size(), b.size());
  EXPECT_TRUE(a == b) << "first differing byte at " << std::mismatch(a.begin(), a.end(), b.begin()).first - a.begin();
}

// Writes exactly these bytes (NULs included) to `path`.
void write_bytes(const std::string& path, const std::string& bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  ASSERT_TRUE(out.good()) << path;
}

// The 8-byte little-endian header length that starts every safetensors file.
std::string le64(uint64_t v) {
  std::string s(8, '\0');
  for (int i = 0; i < 8; ++i) s[i] = static_cast<char>((v >> (8 * i)) & 0xff);
  return s;
}

// Opening `path` must fail with a cma::Error naming the file and saying `why`.
void expect_open_fails(const std::string& path, const std::string& why) {
  try {
    cma::st::File f(path);
    ADD_FAILURE() << "expected an error opening " << path;
  } catch (const cma::Error& e) {
    EXPECT_NE(std::string(e.what()).find(path), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find(why), std::string::npos) << "expected '" << why << "' in: " << e.what();
  }
}

TEST(Safetensors, FileShorterThanTheHeaderLengthFailsNamingIt) {
  const cma::testing::TempDir dir("st");
  const std::string path = dir / "short.safetensors";
  write_bytes(path, std::string("\x02\x00\x00\x00\x00", 5));
  expect_open_fails(path, "only 5 bytes");
  write_bytes(path, "");
  expect_open_fails(path, "only 0 bytes");
}

TEST(Safetensors, HeaderLengthBeyondTheFileFailsNamingIt) {
  const cma::testing::TempDir dir("st");
  const std::string path = dir / "long_header.safetensors";
  write_bytes(path, le64(1000) + "{}");  // claims 1000 header bytes, holds 2
  expect_open_fails(path, "header length 1000 exceeds the file size");
  write_bytes(path, le64(3) + "{}");  // one byte too many
  expect_open_fails(path, "header length 3 exceeds the file size");
  write_bytes(path, le64(~uint64_t{0}) + "{}");  // would wrap around 8 + length
  expect_open_fails(path, "exceeds the file size");
}

TEST(Safetensors, DataOffsetsBeyondTheFileFailNamingIt) {
  const cma::testing::TempDir dir("st");
  const std::string path = dir / "short_data.safetensors";
  const std::string header = R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}})";
  write_bytes(path, le64(header.size()) + header + std::string(4, '\0'));  // 4 of the 8 data bytes
  expect_open_fails(path, "tensor 'a': data_offsets out of range");
  write_bytes(path, le64(header.size()) + header + std::string(8, '\0'));  // complete: opens
  cma::st::File f(path);
  EXPECT_EQ(f.get("a").nbytes, 8u);
}

// A file our writer wrote, cut short in its data and in its header, as a crash or a full disk would.
TEST(Safetensors, TruncatedFileFailsNamingIt) {
  const cma::testing::TempDir dir("st");
  const std::string path = dir / "cut.safetensors";
  std::vector<float> a(16, 1.0f);
  cma::st::write(path, {{"w", cma::st::DType::F32, {4, 4}, a.data(), a.size() * 4}});
  const auto size = std::filesystem::file_size(path);
  std::filesystem::resize_file(path, size - 1);
  expect_open_fails(path, "tensor 'w': data_offsets out of range");
  std::filesystem::resize_file(path, 12);
  expect_open_fails(path, "exceeds the file size");
}

TEST(Safetensors, SizeMismatchOnWriteIsRejected) {
  const cma::testing::TempDir dir("st");
  std::vector<float> a(3);
  EXPECT_THROW(cma::st::write(dir / "never.safetensors", {{"a", cma::st::DType::F32, {2, 2}, a.data(), 12}}),
               cma::Error);
  EXPECT_FALSE(std::filesystem::exists(dir / "never.safetensors"));
}

}  // namespace
