// Fuzzes the pickle reader (MSVD's raw-captions.pkl): any bytes give plain data or a cma::Error,
// never a crash, an unbounded allocation or a hang, and nothing is imported or called.
#include <cstdint>
#include <string>

#include "cma/core/error.h"
#include "cma/data/pickle.h"
#include "fuzz_util.h"

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  cma::fuzz::quiet_logs();
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  try {
    const auto value = cma::data::parse_pickle(std::string(reinterpret_cast<const char*>(data), size), "fuzz.pkl");
    // Plain data only: every value is one of the JSON kinds the header promises.
    CMA_FUZZ_CHECK(!value.is_discarded() && !value.is_binary());
  } catch (const cma::Error&) {
  }
  return 0;
}
