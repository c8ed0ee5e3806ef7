// read_lsmdc on hand-written tab-separated files: one pair a line in file order, the reference's
// stripping of each line, and errors that name the file and the line.
#include <gtest/gtest.h>

#include <string>

#include "annotation_test_util.h"
#include "cma/data/caption_sets.h"
#include "test_tmp.h"

namespace {

using cma::data::DataOptions;
using cma::data::TestProtocol;
using cma::testing::as_list;
using cma::testing::error_of;
using cma::testing::PairList;
using cma::testing::TempDir;
using cma::testing::write_file;

// A byte-order mark, \r\n endings, a blank line, a clip with two sentences, trailing white space.
const char* kTrain =
    "\xEF\xBB\xBF"
    "0001_American_Beauty_00.00.51.926-00.00.54.129\t00.00.51.926\t00.00.54.129\t00.00.51.647\t00.00.54.408\t"
    "We fly over a suburb.\r\n"
    "0002_Clip\t1\t2\t1\t2\tSOMEONE says café é 日本 🎬   \n"
    "\n"
    "0002_Clip\t1\t2\t1\t2\t  Two  spaces kept inside.\n";
const char* kTest = "t1\t0\t1\t0\t1\tTest one.\nt0\t0\t1\t0\t1\tTest zero.";  // no final newline

DataOptions lsmdc_tree(const TempDir& dir, const std::string& train, const std::string& test) {
  write_file(dir / "LSMDC16_annos_training.csv", train);
  write_file(dir / "LSMDC16_challenge_1000_publictect.csv", test);
  DataOptions o;
  o.datatype = cma::data::Datatype::Lsmdc;
  o.anno_path = dir.path();
  return o;
}

TEST(Lsmdc, ReadsOnePairPerLineInFileOrder) {
  TempDir dir("lsmdc");
  const auto s = cma::data::read_lsmdc(lsmdc_tree(dir, kTrain, kTest));
  const PairList train = {{"0001_American_Beauty_00.00.51.926-00.00.54.129", "We fly over a suburb."},
                          {"0002_Clip", "SOMEONE says café é 日本 🎬"},
                          {"0002_Clip", "  Two  spaces kept inside."}};
  const PairList test = {{"t1", "Test one."}, {"t0", "Test zero."}};
  EXPECT_EQ(as_list(s.train), train);
  EXPECT_EQ(as_list(s.test), test);
  EXPECT_EQ(s.test_protocol, TestProtocol::Single);
  EXPECT_EQ(s.train_source, dir / "LSMDC16_annos_training.csv");
  EXPECT_EQ(s.test_source, dir / "LSMDC16_challenge_1000_publictect.csv");
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
    const DataOptions o = lsmdc_tree(dir, kTrain, c.text);
    const std::string msg = error_of([&] { cma::data::read_lsmdc(o); });
    EXPECT_NE(msg.find(dir / "LSMDC16_challenge_1000_publictect.csv" + c.line), std::string::npos) << msg;
    EXPECT_NE(msg.find("expected 6 tab-separated fields"), std::string::npos) << msg;
    EXPECT_NE(msg.find(c.found), std::string::npos) << msg;
  }
}

TEST(Lsmdc, MissingFileNamesTheFilesTheDatatypeExpects) {
  TempDir dir("lsmdc");
  write_file(dir / "LSMDC16_challenge_1000_publictect.csv", kTest);
  DataOptions o;
  o.anno_path = dir.path();
  const std::string msg = error_of([&] { cma::data::read_lsmdc(o); });
  EXPECT_NE(msg.find(dir / "LSMDC16_annos_training.csv"), std::string::npos) << msg;
  EXPECT_NE(msg.find("--datatype lsmdc expects"), std::string::npos) << msg;
}

}  // namespace
