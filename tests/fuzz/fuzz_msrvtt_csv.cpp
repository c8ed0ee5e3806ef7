// Fuzzes the annotation CSV reader: the input is read with read_csv (every row must have the
// header's field count, rows' lines must increase and lie inside the file), then as both
// MSRVTT_train.9k.csv and MSRVTT_JSFUSION_test.csv beside a fixed valid MSRVTT_data.json, so
// read_msrvtt's column look-ups and pairing run on it too. Errors must be cma::Error.
#include <algorithm>
#include <cstdint>
#include <string>

#include "cma/core/error.h"
#include "cma/data/msrvtt.h"
#include "fuzz_util.h"
#include "msrvtt_fixture.h"

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  cma::fuzz::quiet_logs();
  cma::fuzz::write_temp("MSRVTT_data.json", cma::fuzz::kDataJson);
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  const std::string path = cma::fuzz::write_temp("MSRVTT_train.9k.csv", text);
  cma::fuzz::write_temp("MSRVTT_JSFUSION_test.csv", text);
  const int lines = 1 + static_cast<int>(std::count(text.begin(), text.end(), '\n'));
  try {
    const cma::data::CsvTable t = cma::data::read_csv(path);
    CMA_FUZZ_CHECK(!t.header.empty());
    CMA_FUZZ_CHECK(t.rows.size() == t.row_lines.size());
    int previous = 1;
    for (size_t i = 0; i < t.rows.size(); ++i) {
      CMA_FUZZ_CHECK(t.rows[i].size() == t.header.size());
      CMA_FUZZ_CHECK(t.row_lines[i] > previous && t.row_lines[i] <= lines);
      previous = t.row_lines[i];
    }
  } catch (const cma::Error&) {
  }
  try {
    const cma::data::Splits s = cma::data::read_msrvtt(cma::fuzz::anno_options());
    // The fixed JSON has one caption each of video0, video1 and video9, in that order.
    CMA_FUZZ_CHECK(s.train.size() <= 3);
    for (const auto& p : s.train) {
      CMA_FUZZ_CHECK((p.video_id == "video0" && p.caption == "a man is singing") ||
                     (p.video_id == "video1" && p.caption == "a cat plays") ||
                     (p.video_id == "video9" && p.caption == "not in the split"));
    }
  } catch (const cma::Error&) {
  }
  return 0;
}
