// Writes the binary seeds of tests/fuzz/corpus/ with the project's own writers, so they stay
// valid when a format changes: `scripts/fuzz.sh corpus` builds and runs this. The text seeds
// (tokenizer, CSV, JSON) are written by hand. Usage: make_corpus <corpus-folder>
#include <turbojpeg.h>
#include <unistd.h>
#include <zlib.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "cma/core/log.h"
#include "cma/core/safetensors.h"
#include "cma/data/frame_cache.h"

namespace fs = std::filesystem;
namespace st = cma::st;

namespace {

std::string g_root;

void save(const std::string& target, const std::string& name, const std::string& bytes) {
  const fs::path dir = fs::path(g_root) / target;
  fs::create_directories(dir);
  std::ofstream(dir / name, std::ios::binary) << bytes;
  std::printf("  %s/%s (%zu bytes)\n", target.c_str(), name.c_str(), bytes.size());
}

std::string slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

// ---- safetensors: the project's writer ----
void safetensors_seeds(const std::string& tmp) {
  const std::string path = tmp + "/t.safetensors";
  const float f32[6] = {1, 2, 3, 4, 5, 6};
  const int64_t i64[2] = {7, -8};
  st::write(path, {{"weight", st::DType::F32, {2, 3}, f32, sizeof(f32)}, {"step", st::DType::I64, {2}, i64, sizeof(i64)}},
            {{"format", "pt"}, {"cma.note", "fuzz seed"}});
  save("safetensors", "two_tensors_metadata", slurp(path));

  const uint8_t bytes[8] = {1, 2, 3, 4, 5, 6, 7, 8};
  std::vector<st::TensorBytes> all;
  const st::DType dtypes[] = {st::DType::F64, st::DType::F32, st::DType::F16, st::DType::BF16, st::DType::I64,
                              st::DType::I32, st::DType::I16, st::DType::I8,  st::DType::U8,   st::DType::BOOL};
  for (const st::DType d : dtypes) {
    all.push_back({std::string("t_") + st::dtype_name(d), d, {1}, bytes, st::dtype_size(d)});
  }
  st::write(path, all);
  save("safetensors", "every_dtype", slurp(path));

  st::write(path, {{"empty", st::DType::F32, {0, 4}, nullptr, 0}, {"scalar", st::DType::U8, {}, bytes, 1}});
  save("safetensors", "empty_and_scalar", slurp(path));

  st::write(path, {});
  save("safetensors", "no_tensors", slurp(path));

  // As other tools write them: no checksum, so a mutated file still opens; keys out of order.
  const auto by_hand = [](const std::string& header, const std::string& data) {
    std::string out;
    for (int i = 0; i < 8; ++i) out.push_back(static_cast<char>(static_cast<uint64_t>(header.size()) >> (8 * i)));
    return out + header + data;
  };
  save("safetensors", "no_checksum",
       by_hand(R"({"b":{"shape":[2],"dtype":"I16","data_offsets":[8,12]},)"
               R"("a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"__metadata__":{"format":"pt"}})",
               std::string("\0\0\x80?\0\0\0@\x01\0\x02\0", 12)));
  save("safetensors", "no_checksum_empty", by_hand("{}      ", ""));
}

// ---- frame cache: the project's writer, frames of 2 x 2 pixels; each seed starts with the
// target's mode byte (7: recompute every CRC, which leaves a valid file as it is) ----
void frame_cache_seeds(const std::string& tmp) {
  constexpr int kSize = 2;
  const auto decoder = [](int frames_of_first) {
    return [frames_of_first](const std::string& id) {
      cma::data::DecodedVideo v;
      v.frames = id == "video0" ? frames_of_first : 1;
      v.bytes.assign(static_cast<size_t>(v.frames) * kSize * kSize * 3, static_cast<uint8_t>(id.back()));
      return v;
    };
  };
  const std::string path = tmp + "/f.frames";
  cma::data::prepare_cache(path, {}, kSize, 1, decoder(1), nullptr);
  save("frame_cache", "empty", "\x07" + slurp(path));
  cma::data::prepare_cache(path, {"video0", "video1"}, kSize, 1, decoder(3), nullptr);
  save("frame_cache", "two_videos", "\x07" + slurp(path));
  cma::data::prepare_cache(path, {"video2"}, kSize, 1, decoder(1), nullptr);  // the second commit: slot B
  const std::string two_commits = slurp(path);
  save("frame_cache", "two_commits", "\x07" + two_commits);
  save("frame_cache", "two_commits_raw", std::string(1, '\0') + two_commits);
  fs::remove(path);
}

// ---- images: JPEGs from libjpeg-turbo, PNGs assembled here ----
std::string jpeg(int w, int h, int subsamp, int flags) {
  std::vector<uint8_t> rgb(static_cast<size_t>(w) * h * 3);
  for (size_t i = 0; i < rgb.size(); ++i) rgb[i] = static_cast<uint8_t>(i * 37);
  tjhandle tj = tjInitCompress();
  unsigned char* out = nullptr;
  unsigned long n = 0;
  if (tjCompress2(tj, rgb.data(), w, 0, h, TJPF_RGB, &out, &n, subsamp, 75, flags) != 0) {
    std::fprintf(stderr, "tjCompress2: %s\n", tjGetErrorStr2(tj));
    std::exit(1);
  }
  std::string s(reinterpret_cast<const char*>(out), n);
  tjFree(out);
  tjDestroy(tj);
  return s;
}

void put_be32(std::string& s, uint32_t v) {
  for (int i = 3; i >= 0; --i) s.push_back(static_cast<char>(v >> (8 * i)));
}
void png_chunk(std::string& png, const char* type, const std::string& body) {
  put_be32(png, static_cast<uint32_t>(body.size()));
  const std::string typed = std::string(type, 4) + body;
  png += typed;
  put_be32(png, static_cast<uint32_t>(crc32(0, reinterpret_cast<const Bytef*>(typed.data()), typed.size())));
}
std::string png(uint32_t w, uint32_t h) {
  std::string raw;
  for (uint32_t y = 0; y < h; ++y) {
    raw.push_back('\0');  // filter: none
    for (uint32_t x = 0; x < w * 3; ++x) raw.push_back(static_cast<char>(x * 29 + y));
  }
  std::vector<Bytef> z(compressBound(raw.size()));
  uLongf zn = z.size();
  compress(z.data(), &zn, reinterpret_cast<const Bytef*>(raw.data()), raw.size());
  std::string ihdr;
  put_be32(ihdr, w);
  put_be32(ihdr, h);
  ihdr += std::string("\x08\x02\x00\x00\x00", 5);  // 8-bit RGB, deflate, no filter, no interlace
  std::string out("\x89PNG\r\n\x1a\n", 8);
  png_chunk(out, "IHDR", ihdr);
  png_chunk(out, "IDAT", std::string(reinterpret_cast<const char*>(z.data()), zn));
  png_chunk(out, "IEND", "");
  return out;
}

void image_seeds() {
  const std::string baseline = jpeg(8, 8, TJSAMP_420, 0);
  save("image_header", "baseline_8x8.jpg", baseline);
  save("image_header", "progressive_16x8.jpg", jpeg(16, 8, TJSAMP_444, TJFLAG_PROGRESSIVE));
  save("image_header", "gray_8x16.jpg", jpeg(8, 16, TJSAMP_GRAY, 0));
  save("image_header", "truncated.jpg", baseline.substr(0, baseline.size() / 2));
  std::string huge = baseline;  // the SOF0 claims 20000 x 20000
  const size_t sof = huge.find("\xFF\xC0");
  huge[sof + 5] = huge[sof + 7] = static_cast<char>(20000 >> 8);
  huge[sof + 6] = huge[sof + 8] = static_cast<char>(20000 & 0xFF);
  save("image_header", "claims_20000x20000.jpg", huge);
  const std::string p = png(4, 3);
  save("image_header", "rgb_4x3.png", p);
  save("image_header", "truncated.png", p.substr(0, p.size() - 12));
  // BMP: BITMAPFILEHEADER + BITMAPINFOHEADER, 2 x 2 pixels of 24 bits, rows padded to 8 bytes.
  std::string bmp = "BM";
  const auto le = [](std::string& s, uint32_t v, int bytes) {
    for (int i = 0; i < bytes; ++i) s.push_back(static_cast<char>(v >> (8 * i)));
  };
  le(bmp, 54 + 16, 4), le(bmp, 0, 4), le(bmp, 54, 4);
  le(bmp, 40, 4), le(bmp, 2, 4), le(bmp, 2, 4), le(bmp, 1, 2), le(bmp, 24, 2), le(bmp, 0, 4), le(bmp, 16, 4);
  le(bmp, 2835, 4), le(bmp, 2835, 4), le(bmp, 0, 4), le(bmp, 0, 4);
  bmp += std::string(16, '\x7f');
  save("image_header", "rgb_2x2.bmp", bmp);
  std::string top_down = bmp;  // a negative height: rows stored top-down
  top_down[22] = top_down[23] = top_down[24] = top_down[25] = '\xff';
  top_down[22] = '\xfe';
  save("image_header", "top_down_2x2.bmp", top_down);
  save("image_header", "webp_header.webp", std::string("RIFF\x1a\0\0\0WEBPVP8 \x0e\0\0\0", 20));
  save("image_header", "unknown.gif", "GIF89a");
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: %s <corpus-folder>\n", argv[0]);
    return 2;
  }
  g_root = argv[1];
  cma::log::get().set_level(spdlog::level::off);
  char templ[] = "/tmp/cma-corpus-XXXXXX";
  const std::string tmp = ::mkdtemp(templ);
  std::printf("make_corpus: writing seeds under %s\n", g_root.c_str());
  safetensors_seeds(tmp);
  frame_cache_seeds(tmp);
  image_seeds();
  fs::remove_all(tmp);
  return 0;
}
