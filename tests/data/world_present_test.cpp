// world_present: whether `cma demo` may keep a world it finds instead of writing it again.
#include <gtest/gtest.h>

#include <filesystem>

#include "cma/data/world.h"
#include "test_tmp.h"

namespace cma::testing {
namespace {

using namespace cma::data;
namespace fs = std::filesystem;

WorldOptions few_clips() {
  WorldOptions o;
  o.train_clips = 3;
  o.test_clips = 2;
  o.captions_per_clip = 2;
  o.frames = 2;
  o.width = o.height = 32;
  return o;
}

TEST(WorldPresent, OnlyACompleteTreeWithTheSameOptions) {
  TempDir dir("world_present");
  const WorldOptions o = few_clips();
  EXPECT_FALSE(world_present(dir.path(), o));  // nothing written yet
  write_world(dir.path(), o);
  EXPECT_TRUE(world_present(dir.path(), o));

  WorldOptions other = o;
  other.seed = 1;
  EXPECT_FALSE(world_present(dir.path(), other));
  other = o;
  other.test_clips = 3;
  EXPECT_FALSE(world_present(dir.path(), other));
  other = o;
  other.domain = WorldDomain::B;
  EXPECT_FALSE(world_present(dir.path(), other));

  // world_clips.json is written last: a tree without it was cut short and is written again.
  fs::remove(world_anno_path(dir.path()) + "/world_clips.json");
  EXPECT_FALSE(world_present(dir.path(), o));
  write_world(dir.path(), o);
  EXPECT_TRUE(world_present(dir.path(), o));
  // Damaged annotations are not a world.
  std::FILE* f = std::fopen((world_anno_path(dir.path()) + "/MSRVTT_data.json").c_str(), "w");
  ASSERT_NE(f, nullptr);
  std::fputs("{\"info\": ", f);
  std::fclose(f);
  EXPECT_FALSE(world_present(dir.path(), o));
}

}  // namespace
}  // namespace cma::testing
