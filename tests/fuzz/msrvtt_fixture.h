// The annotation folder the MSR-VTT targets read: one of its three files comes from the fuzzer,
// the others are these small valid ones.
#pragma once
#include <string>

#include "cma/data/options.h"
#include "fuzz_util.h"

namespace cma::fuzz {

inline constexpr const char* kTrainCsv = "video_id\nvideo0\nvideo1\nvideo2\n";
inline constexpr const char* kTestCsv =
    "key,vid_key,video_id,sentence\n"
    "ret0,msr7,video7,a man is singing a song\n"
    "ret1,msr8,video8,\"a cat, a dog and \"\"a bird\"\"\"\n";
inline constexpr const char* kDataJson =
    R"({"info": {"year": 2016}, "videos": [{"video_id": "video0", "split": "train"}],)"
    R"( "sentences": [{"caption": "a man is singing", "video_id": "video0", "sen_id": 0},)"
    R"( {"caption": "a cat plays", "video_id": "video1", "sen_id": 1},)"
    R"( {"caption": "not in the split", "video_id": "video9", "sen_id": 2}]})";

inline cma::data::DataOptions anno_options() {
  cma::data::DataOptions o;
  o.anno_path = temp_dir();
  o.features_path = temp_dir() + "/frames";
  return o;
}

}  // namespace cma::fuzz
