// Fuzzes the safetensors reader (cma::st::File) through its public API: the input is the file.
// A file that opens must give tensors whose byte size matches shape x dtype and whose bytes can be
// read; where the header's own data_offsets can be read here too, the bytes must be exactly the
// file's bytes there (the reader maps the file, so the address sanitizer cannot see reads past
// the data: this comparison does). Errors must be cma::Error.
#include <nlohmann/json.hpp>

#include <cstdint>
#include <cstring>
#include <string>

#include "cma/core/error.h"
#include "cma/core/safetensors.h"
#include "fuzz_util.h"

namespace {

// Where the header says a tensor's bytes are, as offsets into the whole file; false when this
// simple reading of the header does not apply (the reader may still accept the file).
bool expected_range(const uint8_t* data, size_t size, const std::string& name, uint64_t& begin, uint64_t& end) {
  if (size < 8) return false;
  uint64_t header_len = 0;
  for (int i = 7; i >= 0; --i) header_len = (header_len << 8) | data[i];
  if (header_len > size - 8) return false;
  const auto header = nlohmann::json::parse(data + 8, data + 8 + header_len, nullptr, /*allow_exceptions=*/false);
  if (!header.is_object()) return false;
  const auto t = header.find(name);
  if (t == header.end() || !t->is_object()) return false;
  const auto offsets = t->find("data_offsets");
  if (offsets == t->end() || !offsets->is_array() || offsets->size() != 2 || !(*offsets)[0].is_number_unsigned() ||
      !(*offsets)[1].is_number_unsigned()) {
    return false;
  }
  begin = 8 + header_len + (*offsets)[0].get<uint64_t>();
  end = 8 + header_len + (*offsets)[1].get<uint64_t>();
  return true;
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  cma::fuzz::quiet_logs();
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string path = cma::fuzz::write_temp("fuzz.safetensors", data, size);
  try {
    const cma::st::File f(path);
    for (const std::string& name : f.names()) {
      CMA_FUZZ_CHECK(f.has(name));
      const cma::st::TensorView& v = f.get(name);
      CMA_FUZZ_CHECK(v.name == name);
      for (const int64_t d : v.shape) CMA_FUZZ_CHECK(d >= 0);
      uint64_t nbytes = 0;  // shape x dtype must not wrap around to match the bytes
      CMA_FUZZ_CHECK(!__builtin_mul_overflow(static_cast<uint64_t>(v.numel()), cma::st::dtype_size(v.dtype), &nbytes));
      CMA_FUZZ_CHECK(nbytes == v.nbytes);
      CMA_FUZZ_CHECK(v.nbytes <= size);
      uint64_t begin = 0, end = 0;
      if (expected_range(data, size, name, begin, end)) {
        CMA_FUZZ_CHECK(begin <= end && end <= size && end - begin == v.nbytes);
        CMA_FUZZ_CHECK(v.nbytes == 0 || std::memcmp(v.data, data + begin, v.nbytes) == 0);
      }
    }
    for (const auto& [key, value] : f.metadata()) CMA_FUZZ_CHECK(f.meta(key) == value);
  } catch (const cma::Error&) {
  }
  return 0;
}
