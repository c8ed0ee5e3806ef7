#include "cma/core/safetensors.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <cstring>
#include <algorithm>
#include <fstream>
#include <iterator>

#include "cma/core/error.h"
#include "st_damage.h"
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
// writer (without the checksum entry, which Python does not write) must give the same bytes, which
// is how we know Python reads what we write.
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
  cma::st::write(out, tensors, f.metadata(), cma::st::Checksum::Omit);
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

// ---- checksums: every file we write carries one; a file that carries one is verified on open ----

// A small file as our writer writes it, with an empty tensor (no data pointer) among the others.
void write_sample(const std::string& path, cma::st::Checksum checksum = cma::st::Checksum::Add) {
  static const std::vector<float> w = {1.5f, -2.0f, 3.25f, 0.0f, 7.0f, 8.0f};
  static const std::vector<int64_t> step = {42};
  cma::st::write(path,
                 {{"w", cma::st::DType::F32, {2, 3}, w.data(), w.size() * 4},
                  {"step", cma::st::DType::I64, {1}, step.data(), 8},
                  {"empty", cma::st::DType::F32, {0, 4}, nullptr, 0}},
                 {{"format", "cma-test"}}, checksum);
}

// Opening `path` must fail with a ChecksumError naming the file.
void expect_checksum_mismatch(const std::string& path) {
  try {
    cma::st::File f(path);
    ADD_FAILURE() << "expected a checksum mismatch opening " << path;
  } catch (const cma::st::ChecksumError& e) {
    const std::string msg = e.what();
    EXPECT_NE(msg.find(path + ": checksum mismatch: the file is damaged (stored crc32:"), std::string::npos) << msg;
    EXPECT_NE(msg.find("replace it with an intact copy"), std::string::npos) << msg;
  }
}

TEST(SafetensorsChecksum, WriterAddsAChecksumThatVerifies) {
  const cma::testing::TempDir dir("st");
  const std::string path = dir / "sum.safetensors";
  write_sample(path);
  cma::st::File f(path);
  EXPECT_TRUE(f.checksum_verified());
  const std::string sum = f.meta(cma::st::kChecksumKey);
  EXPECT_EQ(sum.size(), 14u) << sum;
  EXPECT_EQ(sum.rfind("crc32:", 0), 0u) << sum;
  EXPECT_EQ(f.meta("format"), "cma-test");
}

TEST(SafetensorsChecksum, FlippedDataByteIsRefusedNamingTheFile) {
  const cma::testing::TempDir dir("st");
  const std::string path = dir / "flipped.safetensors";
  write_sample(path);
  cma::testing::flip_data_byte(path, "w");
  expect_checksum_mismatch(path);
}

// The checksum covers the header's meaning too: a relabelled dtype (same length, offsets still
// valid) or an edited metadata value is damage, not a different file.
TEST(SafetensorsChecksum, EditedHeaderIsRefused) {
  const cma::testing::TempDir dir("st");
  const std::string path = dir / "edited.safetensors";
  write_sample(path);
  cma::testing::edit_header(path, R"("w":{"dtype":"F32")", R"("w":{"dtype":"I32")");
  expect_checksum_mismatch(path);
  write_sample(path);
  cma::testing::edit_header(path, "cma-test", "cma-tesx");
  expect_checksum_mismatch(path);
  write_sample(path);
  cma::testing::edit_header(path, R"("shape":[2,3])", R"("shape":[3,2])");
  expect_checksum_mismatch(path);
}

TEST(SafetensorsChecksum, BytesAppendedAfterTheDataAreRefused) {
  const cma::testing::TempDir dir("st");
  const std::string path = dir / "appended.safetensors";
  write_sample(path);
  cma::testing::write_file_bytes(path, cma::testing::read_file_bytes(path) + std::string(8, '\0'));
  expect_checksum_mismatch(path);
}

// Files written by other tools (OpenAI's, Hugging Face's, Python's safetensors) have no checksum.
TEST(SafetensorsChecksum, FileWithoutAChecksumStillReads) {
  const cma::testing::TempDir dir("st");
  const std::string path = dir / "plain.safetensors";
  write_sample(path, cma::st::Checksum::Omit);
  cma::st::File f(path);
  EXPECT_FALSE(f.checksum_verified());
  EXPECT_EQ(f.meta(cma::st::kChecksumKey, "none"), "none");
  EXPECT_EQ(f.get("w").nbytes, 24u);
  const std::string python = cma::testing::fixture("parity/tinyA.safetensors");
  ASSERT_FALSE(python.empty());
  EXPECT_FALSE(cma::st::File(python).checksum_verified());
}

// Rewriting what was read (metadata included) must not carry the old checksum over.
TEST(SafetensorsChecksum, CopiedChecksumEntryIsComputedAfresh) {
  const cma::testing::TempDir dir("st");
  const std::string path = dir / "a.safetensors", out = dir / "b.safetensors";
  write_sample(path);
  cma::st::File f(path);
  std::vector<float> other = {9, 9, 9, 9, 9, 9};
  cma::st::write(out, {{"w", cma::st::DType::F32, {2, 3}, other.data(), 24}}, f.metadata());
  cma::st::File g(out);
  EXPECT_TRUE(g.checksum_verified());
  EXPECT_NE(g.meta(cma::st::kChecksumKey), f.meta(cma::st::kChecksumKey));
}

TEST(SafetensorsChecksum, UnreadableChecksumEntryIsRefusedNamingTheKey) {
  const cma::testing::TempDir dir("st");
  const std::string path = dir / "md5.safetensors";
  const std::string header =
      R"({"a":{"dtype":"U8","shape":[8],"data_offsets":[0,8]},"__metadata__":{"cma.checksum":"md5:0f"}})";
  write_bytes(path, le64(header.size()) + header + std::string(8, '\0'));
  expect_open_fails(path, "metadata 'cma.checksum' is 'md5:0f'; this build reads 'crc32:'");
}

}  // namespace
