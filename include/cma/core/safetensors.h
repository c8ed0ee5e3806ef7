// A small safetensors reader (memory-mapped) and writer, independent of LibTorch.
// Format: 8-byte little-endian header length, a JSON header {name: {dtype, shape, data_offsets}},
// optional "__metadata__" of string pairs, then the raw little-endian tensor bytes.
#pragma once
#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

namespace cma::st {

enum class DType { F64, F32, F16, BF16, I64, I32, I16, I8, U8, BOOL };

size_t dtype_size(DType dtype);
const char* dtype_name(DType dtype);  // "F32", "I64", ... as the format spells them
// Parses a dtype name; `where` names the file and tensor for the error message.
DType parse_dtype(const std::string& name, const std::string& where);

// A tensor inside a mapped file; valid while the File that produced it lives.
struct TensorView {
  std::string name;
  DType dtype = DType::F32;
  std::vector<int64_t> shape;
  const uint8_t* data = nullptr;
  size_t nbytes = 0;
  int64_t numel() const;
};

// A read-only, memory-mapped safetensors file.
class File {
 public:
  // Opens and validates the header; throws cma::Error naming the file on any inconsistency.
  explicit File(const std::string& path);
  ~File();
  File(const File&) = delete;
  File& operator=(const File&) = delete;

  const std::string& path() const { return path_; }
  const std::map<std::string, std::string>& metadata() const { return metadata_; }
  // Metadata value, or `fallback` when the key is absent.
  std::string meta(const std::string& key, const std::string& fallback = "") const;
  std::vector<std::string> names() const;  // sorted
  bool has(const std::string& name) const { return tensors_.count(name) != 0; }
  // The named tensor; throws naming the file and the key when it is absent.
  const TensorView& get(const std::string& name) const;

 private:
  void unmap();
  std::string path_;
  void* map_ = nullptr;
  size_t map_size_ = 0;
  std::map<std::string, std::string> metadata_;
  std::map<std::string, TensorView> tensors_;
};

// One tensor to write: the bytes are copied out during write().
struct TensorBytes {
  std::string name;
  DType dtype = DType::F32;
  std::vector<int64_t> shape;
  const void* data = nullptr;
  size_t nbytes = 0;
};

// Writes a safetensors file atomically (temporary name, flush, fsync, rename). Tensors are laid out
// in name order, as Python's safetensors does, so files are byte-for-byte reproducible.
void write(const std::string& path, const std::vector<TensorBytes>& tensors,
           const std::map<std::string, std::string>& metadata = {});

}  // namespace cma::st
