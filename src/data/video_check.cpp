#include "cma/data/video_check.h"

#include <algorithm>
#include <atomic>
#include <thread>
#include <unordered_map>

#include "cma/core/error.h"
#include "cma/core/log.h"

namespace cma::data {
namespace {

constexpr size_t kNamedInSummary = 5;  // enough to see the pattern; MSR-VTT has 10,000 videos

// The distinct videos of `pairs`, in first-seen order.
std::vector<std::string> distinct_videos(const std::vector<Pair>& pairs) {
  std::vector<std::string> ids;
  std::unordered_map<std::string, bool> seen;
  for (const auto& p : pairs) {
    if (seen.emplace(p.video_id, true).second) ids.push_back(p.video_id);
  }
  return ids;
}

// problem() of every video, on `threads` threads, with a progress line every tenth.
std::vector<std::string> find_problems(const std::vector<std::string>& ids, const FrameSource& frames,
                                       const DataOptions& o, const std::string& split_name) {
  std::vector<std::string> problems(ids.size());
  std::atomic<size_t> next{0}, done{0};
  const size_t tenth = std::max<size_t>(ids.size() / 10, 1);
  const auto work = [&] {
    for (size_t i; (i = next++) < ids.size();) {
      problems[i] = frames.problem(ids[i], o.max_frames, o.slice_framepos);
      const size_t d = ++done;
      if (ids.size() >= 1000 && d % tenth == 0) log::info("data", "{}: checked {}/{} videos", split_name, d, ids.size());
    }
  };
  std::vector<std::thread> pool;
  for (int t = 1; t < std::max(o.workers, 1); ++t) pool.emplace_back(work);
  work();
  for (auto& t : pool) t.join();
  return problems;
}

std::string where_frames_are(const DataOptions& o) {
  return o.frames_cache.empty() ? "--features_path " + o.features_path : "--frames_cache " + o.frames_cache;
}

}  // namespace

int check_videos(std::vector<Pair>& pairs, const FrameSource& frames, const DataOptions& o,
                 const std::string& split_name) {
  const std::vector<std::string> ids = distinct_videos(pairs);
  const std::vector<std::string> problems = find_problems(ids, frames, o, split_name);
  std::unordered_map<std::string, bool> bad;
  std::string named;
  size_t bad_count = 0;
  for (size_t i = 0; i < ids.size(); ++i) {
    if (problems[i].empty()) continue;
    if (o.bad_videos == BadVideos::Error) {
      throw Error(split_name + ": video " + ids[i] + " cannot be used: " + problems[i] +
                  " (--bad-videos skip leaves such videos out)");
    }
    bad[ids[i]] = true;
    if (++bad_count <= kNamedInSummary) named += "\n  " + ids[i] + ": " + problems[i];
  }
  if (bad_count == 0) {
    log::info("data", "{}: all {} videos have readable frames ({})", split_name, ids.size(), where_frames_are(o));
    return 0;
  }
  require(bad_count < ids.size(), split_name + ": none of its " + std::to_string(ids.size()) +
                                      " videos can be used; check " + where_frames_are(o) + ". First ones:" + named);
  const size_t before = pairs.size();
  pairs.erase(std::remove_if(pairs.begin(), pairs.end(), [&](const Pair& p) { return bad.count(p.video_id) != 0; }),
              pairs.end());
  const std::string more =
      bad_count > kNamedInSummary ? "\n  ... and " + std::to_string(bad_count - kNamedInSummary) + " more" : "";
  log::warn("data", "{}: left out {} of {} videos ({} of {} pairs; --bad-videos error stops instead):{}{}", split_name,
            bad_count, ids.size(), before - pairs.size(), before, named, more);
  return static_cast<int>(bad_count);
}

}  // namespace cma::data
