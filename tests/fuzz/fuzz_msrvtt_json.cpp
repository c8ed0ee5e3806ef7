// Fuzzes MSRVTT_data.json: the input is the JSON file, the two CSVs are fixed and valid
// (msrvtt_fixture.h: training videos video0..video2). read_msrvtt must return the training pairs
// of those videos only, or throw cma::Error.
#include <cstdint>
#include <string>

#include "cma/core/error.h"
#include "cma/data/msrvtt.h"
#include "fuzz_util.h"
#include "msrvtt_fixture.h"

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  cma::fuzz::quiet_logs();
  cma::fuzz::write_temp("MSRVTT_train.9k.csv", cma::fuzz::kTrainCsv);
  cma::fuzz::write_temp("MSRVTT_JSFUSION_test.csv", cma::fuzz::kTestCsv);
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  cma::fuzz::write_temp("MSRVTT_data.json", data, size);
  try {
    const cma::data::Splits s = cma::data::read_msrvtt(cma::fuzz::anno_options());
    for (const auto& p : s.train) {
      CMA_FUZZ_CHECK(p.video_id == "video0" || p.video_id == "video1" || p.video_id == "video2");
    }
    CMA_FUZZ_CHECK(s.test.size() == 2 && s.test[1].caption == "a cat, a dog and \"a bird\"");
  } catch (const cma::Error&) {
  }
  return 0;
}
