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

#include "cma/core/error.h"

namespace cma::st {

// The metadata key under which our writer stores the file's checksum, "crc32:<8 lowercase hex
// digits>": zlib's CRC-32 of the header's meaning (every tensor's name, dtype, shape and offsets and
// every other metadata entry, in a canonical form, so spacing and key order do not matter) followed
// by every byte of the data section. Files written by other tools (OpenAI's, Hugging Face's) have
// none and are read as before; a file that has one is verified when it is opened.
constexpr const char* kChecksumKey = "cma.checksum";

// Thrown when a file's stored checksum disagrees with its contents: the file is damaged. Loaders
// of our own files catch it to say what to do for their kind of file (damage() is the message
// without the generic advice).
class ChecksumError : public Error {
 public:
  ChecksumError(const std::string& path, const std::string& stored, const std::string& computed);
  const std::string& damage() const { return damage_; }

 private:
  std::string damage_;
};

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
  // Opens and validates the header, then verifies the checksum when the file carries one (see
  // kChecksumKey), so no tensor of a damaged file is ever used. Throws cma::Error naming the file on
  // any inconsistency, ChecksumError when the checksum disagrees.
  //
  // Verifying at open reads every byte once more with zlib's CRC-32: opening a 1 GiB file took
  // 0.45 to 0.55 s on one core (zlib 1.2.13, file in the page cache). Checkpoints and adapter files
  // are a few MB; a backbone that `cma convert` wrote (0.3 to 1.7 GB) is copied out in full by its
  // loader anyway, so the check costs a fraction of the load and is always on rather than left to
  // each caller to remember.
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
  // True when the file carried a checksum and it matched (a file without one opens with false):
  // loaders of our own formats require it of the versions that always write one.
  bool checksum_verified() const { return checksum_verified_; }

 private:
  void unmap();
  void verify_checksum(const uint8_t* data, size_t data_size);
  std::string path_;
  void* map_ = nullptr;
  size_t map_size_ = 0;
  std::map<std::string, std::string> metadata_;
  std::map<std::string, TensorView> tensors_;
  bool checksum_verified_ = false;
};

// One tensor to write: the bytes are copied out during write().
struct TensorBytes {
  std::string name;
  DType dtype = DType::F32;
  std::vector<int64_t> shape;
  const void* data = nullptr;
  size_t nbytes = 0;
};

// Whether write() adds the kChecksumKey entry. Omit exists to write exactly what Python's
// safetensors writes (a parity test compares the bytes) and, in tests, files as other tools write them.
enum class Checksum { Add, Omit };

// Writes a safetensors file atomically (temporary name, flush, fsync, rename). Tensors are laid out
// in name order, as Python's safetensors does, so files are byte-for-byte reproducible. A
// kChecksumKey entry in `metadata` (say, copied from a file that was read) is dropped: the file's
// checksum is always computed afresh.
void write(const std::string& path, const std::vector<TensorBytes>& tensors,
           const std::map<std::string, std::string>& metadata = {}, Checksum checksum = Checksum::Add);

// Opens one of our own files (a checkpoint, an adapters file): a damaged one (ChecksumError)
// becomes a cma::Error ending with `advice`, what to do for that kind of file.
std::unique_ptr<File> open_own(const std::string& path, const std::string& advice);

// The metadata's format_version, a whole number from 1 to `newest` (`absent` when the key is
// missing). Throws cma::Error naming the file, the key and the versions this build reads; an
// unreadable value ends with `advice`, one newer than `newest` asks to upgrade cma.
int format_version(const File& f, int newest, int absent, const std::string& advice);

}  // namespace cma::st
