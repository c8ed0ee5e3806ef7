// Damaging safetensors files the way disks, copies and hand edits do, for the tests that check
// our readers refuse them: a flipped byte in a tensor's data, a header edited in place, a file
// rewritten as another tool would write it (no checksum).
#pragma once
#include <cstdint>
#include <fstream>
#include <iterator>
#include <map>
#include <stdexcept>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "cma/core/safetensors.h"

namespace cma::testing {

inline std::string read_file_bytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error("cannot read " + path);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

inline void write_file_bytes(const std::string& path, const std::string& bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  if (!out) throw std::runtime_error("cannot write " + path);
}

// The header's length and text (the 8-byte little-endian length, then JSON).
inline uint64_t header_length(const std::string& bytes) {
  uint64_t n = 0;
  for (int i = 7; i >= 0; --i) n = (n << 8) | static_cast<uint8_t>(bytes.at(i));
  return n;
}

// Flips the bits of one byte in the middle of tensor `name`'s data, in place.
inline void flip_data_byte(const std::string& path, const std::string& name) {
  std::string bytes = read_file_bytes(path);
  const uint64_t len = header_length(bytes);
  const auto header = nlohmann::json::parse(bytes.substr(8, len));
  const auto offsets = header.at(name).at("data_offsets").get<std::vector<uint64_t>>();
  if (offsets[1] == offsets[0]) throw std::runtime_error(name + " has no data to damage");
  const uint64_t at = 8 + len + (offsets[0] + offsets[1]) / 2;
  bytes[at] = static_cast<char>(~static_cast<uint8_t>(bytes[at]));
  write_file_bytes(path, bytes);
}

// Replaces the first `from` in the header text with `to` of the same length (lengths and offsets
// stay valid, as a hand edit or a bit flip in the header would leave them).
inline void edit_header(const std::string& path, const std::string& from, const std::string& to) {
  if (from.size() != to.size()) throw std::runtime_error("edit_header keeps lengths: sizes differ");
  std::string bytes = read_file_bytes(path);
  const uint64_t len = header_length(bytes);
  const auto at = bytes.find(from, 8);
  if (at == std::string::npos || at + from.size() > 8 + len) {
    throw std::runtime_error("'" + from + "' not in the header");
  }
  bytes.replace(at, from.size(), to);
  write_file_bytes(path, bytes);
}

// Rewrites `path` as a tool without checksums would: the same tensors, `metadata` as given
// (callers drop or change entries), no cma.checksum.
inline void rewrite_without_checksum(const std::string& path, std::map<std::string, std::string> metadata) {
  std::vector<st::TensorBytes> tensors;
  std::vector<std::string> data;  // the bytes, owned while writing
  {
    st::File f(path);
    for (const auto& name : f.names()) {
      const auto& v = f.get(name);
      data.emplace_back(reinterpret_cast<const char*>(v.data), v.nbytes);
      tensors.push_back({name, v.dtype, v.shape, nullptr, v.nbytes});
    }
  }
  for (size_t i = 0; i < tensors.size(); ++i) tensors[i].data = data[i].data();
  metadata.erase(st::kChecksumKey);
  st::write(path, tensors, metadata, st::Checksum::Omit);
}

}  // namespace cma::testing
