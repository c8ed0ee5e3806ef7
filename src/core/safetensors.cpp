#include "cma/core/safetensors.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
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

}  // namespace

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
           const std::map<std::string, std::string>& metadata) {
  std::vector<const TensorBytes*> order;
  for (const auto& t : tensors) order.push_back(&t);
  std::sort(order.begin(), order.end(),
            [](const TensorBytes* a, const TensorBytes* b) { return a->name < b->name; });
  // Tensors in name order, then "__metadata__": the layout Python's safetensors writes, so the same
  // tensors and metadata give byte-identical files (tests/core/safetensors_test.cpp checks a fixture).
  nlohmann::ordered_json header = nlohmann::ordered_json::object();
  uint64_t offset = 0;
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
    offset += t->nbytes;
  }
  if (!metadata.empty()) header["__metadata__"] = metadata;
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

}  // namespace cma::st
