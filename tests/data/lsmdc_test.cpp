// read_lsmdc on hand-written tab-separated files: one pair a line in file order, the reference's
// stripping of each line, and errors that name the file and the line.
#include <gtest/gtest.h>

#include <string>

#include "annotation_test_util.h"  // the readers, TempDir and the shared checks

namespace cma::testing {
namespace {

// A byte-order mark, \r\n endings, a blank line, a clip with two sentences, trailing white space.
const char* kTrain =
    "\xEF\xBB\xBF"
    "0001_American_Beauty_00.00.51.926-00.00.54.129\t00.00.51.926\t00.00.54.129\t00.00.51.647\t00.00.54.408\t"
    "We fly over a suburb.\r\n"
    "0002_Clip\t1\t2\t1\t2\tSOMEONE says café é 日本 🎬   \n"
    "\n"
    "0002_Clip\t1\t2\t1\t2\t  Two  spaces kept inside.\n";
const char* kTest = "t1\t0\t1\t0\t1\tTest one.\nt0\t0\t1\t0\t1\tTest zero.";  // no final newline

data::DataOptions lsmdc_tree(const TempDir& dir, const std::string& train, const std::string& test) {
  return layout(dir, data::Datatype::Lsmdc,
                {{"LSMDC16_annos_training.csv", train}, {"LSMDC16_challenge_1000_publictect.csv", test}});
}

TEST(Lsmdc, ReadsOnePairPerLineInFileOrder) {
  TempDir dir("lsmdc");
  const auto s = data::read_lsmdc(lsmdc_tree(dir, kTrain, kTest));
  const PairList train = {{"0001_American_Beauty_00.00.51.926-00.00.54.129", "We fly over a suburb."},
                          {"0002_Clip", "SOMEONE says café é 日本 🎬"},
                          {"0002_Clip", "  Two  spaces kept inside."}};
  const PairList test = {{"t1", "Test one."}, {"t0", "Test zero."}};
  EXPECT_TRUE(splits_are(s, {train, test, data::TestProtocol::Single, dir / "LSMDC16_annos_training.csv",
                             dir / "LSMDC16_challenge_1000_publictect.csv"}));
}

TEST(Lsmdc, WrongFieldCountNamesTheFileAndLine) {
  TempDir dir("lsmdc");
  struct Case {
    const char* text;
    const char* line;
    const char* found;
  } cases[] = {
      {"t1\t0\t1\t0\t1\tok\n\nt2\t0\t1\t0\tmissing a field\n", ":3:", "found 5"},
      {"t1\t0\t1\t0\t1\ta sentence\twith a tab\n", ":1:", "found 7"},
      {"t1,0,1,0,1,comma separated\n", ":1:", "found 1"},
      {"t1\t0\t1\t0\t1\t\n", ":1:", "found 5"},  // the empty sentence goes with the stripped tab
  };
  for (const auto& c : cases) {
    const std::string msg = read_error(data::read_lsmdc, lsmdc_tree(dir, kTrain, c.text));
    EXPECT_TRUE(contains_all(
        msg, {dir / "LSMDC16_challenge_1000_publictect.csv" + c.line, "expected 6 tab-separated fields", c.found}));
  }
}

TEST(Lsmdc, MissingFileNamesTheFilesTheDatatypeExpects) {
  TempDir dir("lsmdc");
  const data::DataOptions o = layout(dir, data::Datatype::Lsmdc, {{"LSMDC16_challenge_1000_publictect.csv", kTest}});
  const std::string msg = read_error(data::read_lsmdc, o);
  EXPECT_TRUE(contains_all(msg, {dir / "LSMDC16_annos_training.csv", "--datatype lsmdc expects"}));
}

}  // namespace
}  // namespace cma::testing
