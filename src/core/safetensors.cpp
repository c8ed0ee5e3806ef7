#include "cma/core/safetensors.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <nlohmann/json.hpp>

#include "cma/core/atomic_file.h"
#include "cma/core/error.h"

namespace cma::st {
namespace {

struct DTypeInfo {
  DType dtype;
  const char* name;
  size_t size;
};
constexpr DTypeInfo kDTypes[] = {
    {DType::F64, "F64", 8}, {DType::F32, "F32", 4}, {DType::F16, "F16", 2},
    {DType::BF16, "BF16", 2}, {DType::I64, "I64", 8}, {DType::I32, "I32", 4},
    {DType::I16, "I16", 2}, {DType::I8, "I8", 1}, {DType::U8, "U8", 1},
    {DType::BOOL, "BOOL", 1},
};

const DTypeInfo& info(DType dtype) {
  for (const auto& d : kDTypes) {
    if (d.dtype == dtype) return d;
  }
  throw Error("unknown safetensors dtype");
}

uint64_t read_le64(const uint8_t* p) {
  uint64_t v = 0;
  for (int i = 7; i >= 0; --i) v = (v << 8) | p[i];
  return v;
}

// One tensor's header entry, as the checksum sees it: offsets are relative to the data section.
struct Entry {
  std::string name;
  DType dtype;
  std::vector<int64_t> shape;
  uint64_t begin, end;
};

// What the checksum covers of the header: its meaning, not its bytes. Writer and reader build this
// from the same values, and sorted JSON keys make it independent of the header's spacing and order
// (the header itself is never re-serialised). The checksum entry is left out: it cannot cover itself.
std::string canonical_header(const std::vector<Entry>& entries, const std::map<std::string, std::string>& metadata) {
  nlohmann::json tensors = nlohmann::json::object();
  for (const auto& e : entries) tensors[e.name] = {dtype_name(e.dtype), e.shape, {e.begin, e.end}};
  nlohmann::json meta = nlohmann::json::object();
  for (const auto& kv : metadata) {
    if (kv.first != kChecksumKey) meta[kv.first] = kv.second;
  }
  return nlohmann::json{{"metadata", meta}, {"tensors", tensors}}.dump();
}

uint32_t crc32_update(uint32_t crc, const void* data, size_t n) {
  // zlib returns its initial value, not `crc`, for a null pointer: an empty tensor may have one.
  if (n == 0) return crc;
  return static_cast<uint32_t>(::crc32_z(crc, static_cast<const Bytef*>(data), n));
}

std::string checksum_text(uint32_t crc) {
  char buf[16];
  std::snprintf(buf, sizeof buf, "crc32:%08x", crc);
  return buf;
}

// "crc32:" and exactly 8 lowercase hex digits, as checksum_text writes.
bool is_checksum_text(const std::string& s) {
  if (s.size() != 14 || s.compare(0, 6, "crc32:") != 0) return false;
  return std::all_of(s.begin() + 6, s.end(), [](char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); });
}

std::string damage_text(const std::string& path, const std::string& stored, const std::string& computed) {
  return path + ": checksum mismatch: the file is damaged (stored " + stored + ", computed " + computed + ")";
}

}  // namespace

ChecksumError::ChecksumError(const std::string& path, const std::string& stored, const std::string& computed)
    : Error(damage_text(path, stored, computed) + "; replace it with an intact copy or write it again"),
      damage_(damage_text(path, stored, computed)) {}

size_t dtype_size(DType dtype) { return info(dtype).size; }
const char* dtype_name(DType dtype) { return info(dtype).name; }

DType parse_dtype(const std::string& name, const std::string& where) {
  for (const auto& d : kDTypes) {
    if (name == d.name) return d.dtype;
  }
  throw Error(where + ": unsupported dtype '" + name + "'");
}

int64_t TensorView::numel() const {
  int64_t n = 1;
  for (auto s : shape) n *= s;
  return n;
}

namespace {

// How deep arrays and objects nest in `v`, counted without recursion: File::File dump()s a metadata
// value that is not a string, and dump() recurses once per level (100,000 levels overflow the stack).
size_t nesting(const nlohmann::json& v) {
  size_t deepest = 0;
  std::vector<std::pair<const nlohmann::json*, size_t>> todo = {{&v, 0}};
  while (!todo.empty()) {
    const auto [j, depth] = todo.back();
    todo.pop_back();
    if (!j->is_structured()) continue;
    deepest = std::max(deepest, depth + 1);
    for (const auto& child : *j) todo.push_back({&child, depth + 1});
  }
  return deepest;
}

// Rejects with cma::Error, naming the file, a header File::File cannot read as it stands: nlohmann's
// own exceptions (a tensor entry without "dtype", a shape of strings) would escape without the file's
// name, and a shape with a negative side, or whose byte size overflows 64 bits (and so could wrap to
// match data_offsets), would describe bytes the file does not have; a metadata value nested too deep
// would overflow the stack.
void check_header(const nlohmann::json& header, const std::string& path) {
  require(header.is_object(), path + ": header is not a JSON object");
  for (auto it = header.begin(); it != header.end(); ++it) {
    if (it.key() == "__metadata__") {
      require(it->is_object(), path + ": __metadata__ is not a JSON object");
      for (auto m = it->begin(); m != it->end(); ++m) {
        require(nesting(*m) <= 64, path + ": __metadata__ '" + m.key() + "' is nested more than 64 deep");
      }
      continue;
    }
    const std::string where = path + " tensor '" + it.key() + "'";
    const auto dtype = it->find("dtype"), shape = it->find("shape"), offsets = it->find("data_offsets");
    require(it->is_object() && dtype != it->end() && dtype->is_string() && shape != it->end() &&
                shape->is_array() && offsets != it->end() && offsets->is_array(),
            where + ": expected {\"dtype\": string, \"shape\": [...], \"data_offsets\": [begin, end]}");
    uint64_t bytes = dtype_size(parse_dtype(dtype->get<std::string>(), where));
    for (const auto& d : *shape) {
      require(d.is_number_integer() && d.get<int64_t>() >= 0, where + ": shape is not a list of non-negative integers");
      require(!__builtin_mul_overflow(bytes, d.get<uint64_t>(), &bytes) && bytes <= INT64_MAX,
              where + ": shape " + shape->dump() + " is too large");
    }
    for (const auto& o : *offsets) require(o.is_number_unsigned(), where + ": data_offsets out of range");
  }
}

}  // namespace

File::File(const std::string& path) : path_(path) {
  int fd = ::open(path.c_str(), O_RDONLY);
  if (fd < 0) throw Error("cannot open " + path + ": " + std::strerror(errno));
  struct stat sb {};
  if (::fstat(fd, &sb) != 0) {
    ::close(fd);
    throw Error("cannot stat " + path + ": " + std::strerror(errno));
  }
  map_size_ = static_cast<size_t>(sb.st_size);
  if (map_size_ < 8) {
    ::close(fd);
    throw Error(path + ": not a safetensors file (only " + std::to_string(map_size_) + " bytes)");
  }
  map_ = ::mmap(nullptr, map_size_, PROT_READ, MAP_PRIVATE, fd, 0);
  ::close(fd);
  if (map_ == MAP_FAILED) {
    map_ = nullptr;
    throw Error("cannot map " + path + ": " + std::strerror(errno));
  }
  const auto* bytes = static_cast<const uint8_t*>(map_);
  const uint64_t header_len = read_le64(bytes);
  if (header_len > map_size_ - 8) {
    unmap();
    throw Error(path + ": header length " + std::to_string(header_len) + " exceeds the file size");
  }
  nlohmann::json header;
  try {
    header = nlohmann::json::parse(bytes + 8, bytes + 8 + header_len);
  } catch (const std::exception& e) {
    unmap();
    throw Error(path + ": header is not valid JSON: " + e.what());
  }
  try {
    check_header(header, path);
  } catch (...) {
    unmap();
    throw;
  }
  const uint8_t* data = bytes + 8 + header_len;
  const size_t data_size = map_size_ - 8 - header_len;
  for (auto it = header.begin(); it != header.end(); ++it) {
    if (it.key() == "__metadata__") {
      for (auto m = it->begin(); m != it->end(); ++m) {
        metadata_[m.key()] = m->is_string() ? m->get<std::string>() : m->dump();
      }
      continue;
    }
    const std::string where = path + " tensor '" + it.key() + "'";
    TensorView view;
    view.name = it.key();
    view.dtype = parse_dtype(it->at("dtype").get<std::string>(), where);
    view.shape = it->at("shape").get<std::vector<int64_t>>();
    const auto offsets = it->at("data_offsets").get<std::vector<uint64_t>>();
    if (offsets.size() != 2 || offsets[0] > offsets[1] || offsets[1] > data_size) {
      unmap();
      throw Error(where + ": data_offsets out of range");
    }
    view.data = data + offsets[0];
    view.nbytes = offsets[1] - offsets[0];
    if (static_cast<size_t>(view.numel()) * dtype_size(view.dtype) != view.nbytes) {
      unmap();
      throw Error(where + ": byte size does not match its shape and dtype");
    }
    tensors_.emplace(view.name, std::move(view));
  }
  try {
    verify_checksum(data, data_size);
  } catch (...) {
    unmap();
    throw;
  }
}

void File::verify_checksum(const uint8_t* data, size_t data_size) {
  auto it = metadata_.find(kChecksumKey);
  if (it == metadata_.end()) return;  // written by another tool: nothing to verify
  const std::string& stored = it->second;
  require(is_checksum_text(stored), path_ + ": metadata '" + kChecksumKey + "' is '" + stored +
                                        "'; this build reads 'crc32:' and 8 lowercase hex digits (the file is "
                                        "damaged, or was written by a newer cma)");
  std::vector<Entry> entries;
  for (const auto& kv : tensors_) {
    const auto begin = static_cast<uint64_t>(kv.second.data - data);
    entries.push_back({kv.first, kv.second.dtype, kv.second.shape, begin, begin + kv.second.nbytes});
  }
  const std::string canonical = canonical_header(entries, metadata_);
  uint32_t crc = crc32_update(0, canonical.data(), canonical.size());
  crc = crc32_update(crc, data, data_size);  // every byte, including any no tensor claims
  const std::string computed = checksum_text(crc);
  if (computed != stored) throw ChecksumError(path_, stored, computed);
  checksum_verified_ = true;
}

File::~File() { unmap(); }

void File::unmap() {
  if (map_) ::munmap(map_, map_size_);
  map_ = nullptr;
}

std::string File::meta(const std::string& key, const std::string& fallback) const {
  auto it = metadata_.find(key);
  return it == metadata_.end() ? fallback : it->second;
}

std::vector<std::string> File::names() const {
  std::vector<std::string> out;
  out.reserve(tensors_.size());
  for (const auto& kv : tensors_) out.push_back(kv.first);
  return out;
}

const TensorView& File::get(const std::string& name) const {
  auto it = tensors_.find(name);
  if (it == tensors_.end()) throw Error(path_ + ": no tensor named '" + name + "'");
  return it->second;
}

void write(const std::string& path, const std::vector<TensorBytes>& tensors,
           const std::map<std::string, std::string>& metadata, Checksum checksum) {
  std::vector<const TensorBytes*> order;
  for (const auto& t : tensors) order.push_back(&t);
  std::sort(order.begin(), order.end(),
            [](const TensorBytes* a, const TensorBytes* b) { return a->name < b->name; });
  // Tensors in name order, then "__metadata__": the layout Python's safetensors writes, so the same
  // tensors and metadata give byte-identical files (tests/core/safetensors_test.cpp checks a fixture).
  nlohmann::ordered_json header = nlohmann::ordered_json::object();
  uint64_t offset = 0;
  std::vector<Entry> entries;
  for (const auto* t : order) {
    int64_t numel = 1;
    for (auto s : t->shape) numel *= s;
    if (static_cast<size_t>(numel) * dtype_size(t->dtype) != t->nbytes) {
      throw Error("writing " + path + ": tensor '" + t->name + "' has " +
                  std::to_string(t->nbytes) + " bytes, its shape needs " +
                  std::to_string(numel * dtype_size(t->dtype)));
    }
    header[t->name] = {{"dtype", dtype_name(t->dtype)},
                       {"shape", t->shape},
                       {"data_offsets", {offset, offset + t->nbytes}}};
    entries.push_back({t->name, t->dtype, t->shape, offset, offset + t->nbytes});
    offset += t->nbytes;
  }
  std::map<std::string, std::string> meta = metadata;
  meta.erase(kChecksumKey);  // a stale one copied from a file that was read
  if (checksum == Checksum::Add) {
    // The data section is the tensors' bytes back to back, in this order.
    const std::string canonical = canonical_header(entries, meta);
    uint32_t crc = crc32_update(0, canonical.data(), canonical.size());
    for (const auto* t : order) crc = crc32_update(crc, t->data, t->nbytes);
    meta[kChecksumKey] = checksum_text(crc);
  }
  if (!meta.empty()) header["__metadata__"] = meta;
  std::string text = header.dump();
  // Pad the header with spaces to 8 bytes so tensor data stays aligned, as the reference writer does.
  while ((text.size() % 8) != 0) text.push_back(' ');
  write_file_atomic(path, [&](std::FILE* f) {
    uint8_t len[8];
    uint64_t n = text.size();
    for (int i = 0; i < 8; ++i) len[i] = static_cast<uint8_t>(n >> (8 * i));
    bool ok = std::fwrite(len, 1, 8, f) == 8 && std::fwrite(text.data(), 1, text.size(), f) == text.size();
    for (const auto* t : order) {
      ok = ok && (t->nbytes == 0 || std::fwrite(t->data, 1, t->nbytes, f) == t->nbytes);
    }
    if (!ok) throw Error("short write to " + path + ": " + std::strerror(errno));
  });
}

std::unique_ptr<File> open_own(const std::string& path, const std::string& advice) {
  try {
    return std::make_unique<File>(path);
  } catch (const ChecksumError& e) {
    throw Error(e.damage() + "; " + advice);
  }
}

int format_version(const File& f, int newest, int absent, const std::string& advice) {
  const std::string text = f.meta("format_version", std::to_string(absent));
  int version = 0;
  try {
    size_t used = 0;
    version = std::stoi(text, &used);
    if (used != text.size()) version = 0;
  } catch (const std::exception&) {
    version = 0;
  }
  require(version >= 1, f.path() + ": metadata 'format_version' is '" + text + "', not a version number; " + advice);
  require(version <= newest, f.path() + ": format_version " + text + " is newer than this build reads (1.." +
                                 std::to_string(newest) + "); upgrade cma");
  return version;
}

}  // namespace cma::st
