// The check of every video before a run starts: a video whose frames are missing, or whose
// sampled frames cannot be read up to their header (too large, truncated, not an image), or that
// the frame cache does not hold, is found here instead of in the middle of an epoch, where every
// re-run would stop at the same place. The reference has no such step: it crashes on such videos.
#pragma once
#include <string>
#include <vector>

#include "cma/data/loader.h"
#include "cma/data/msrvtt.h"
#include "cma/data/options.h"

namespace cma::data {

// Asks `frames` about every distinct video of `pairs` (o.workers threads), then, with
// o.bad_videos == Skip, removes the pairs of the bad ones, keeping the order of the rest, and logs
// one summary warning (the count, the first few videos and why); with Error, throws naming the
// first bad video. Throws when no video of a non-empty split is usable, naming where frames were
// looked for. Returns the number of videos left out.
int check_videos(std::vector<Pair>& pairs, const FrameSource& frames, const DataOptions& o,
                 const std::string& split_name);

}  // namespace cma::data
