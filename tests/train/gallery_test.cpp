// The retrieval gallery (--gallery N): one row per caption, its correct clip framed green, a wrong
// first choice framed red.
#include <gtest/gtest.h>

#include "cma/data/gallery.h"
#include "run_fixture.h"

#if CMA_WITH_OPENCV
#include <opencv2/imgcodecs.hpp>

namespace cma::testing {
namespace {

using L = data::GalleryLayout;

bool has_colour(const cv::Mat& bgr, int x, int y, const unsigned char rgb[3]) {
  const auto px = bgr.at<cv::Vec3b>(y, x);
  return px[0] == rgb[2] && px[1] == rgb[1] && px[2] == rgb[0];
}

TEST(Gallery, EachCaptionRowFramesItsClipGreenAndAWrongFirstRed) {
  const auto tree = make_tiny_tree("gallery", 4, 5);
  auto c = tiny_run(tree, "gallery");
  c.train.tune = train::Tune::None;
  c.eval.gallery = 3;
  auto comm = dist::make_single_process();
  train::Trainer t(c, *comm);
  ASSERT_EQ(t.run(), 0);
  const cv::Mat png = cv::imread(c.train.output_dir + "/gallery.png");
  ASSERT_FALSE(png.empty()) << "no gallery.png in " << c.train.output_dir;
  EXPECT_EQ(png.cols, 2 * L::kMargin + 5 * L::kCell - L::kGap);
  EXPECT_EQ(png.rows, 2 * L::kMargin + 3 * L::kRowHeight - L::kGap);
  // Five test clips, five shown: each caption's own clip is among them exactly once.
  for (int r = 0; r < 3; ++r) {
    int green = -1, greens = 0;
    const int y = L::kMargin + r * L::kRowHeight + L::kCaptionBand + 1;  // inside the top border
    for (int k = 0; k < 5; ++k) {
      const int x = L::kMargin + k * L::kCell + L::kThumb / 2;
      if (has_colour(png, x, y, data::kGalleryCorrect)) green = k, greens += 1;
    }
    EXPECT_EQ(greens, 1) << "row " << r;
    const int x0 = L::kMargin + L::kThumb / 2;
    EXPECT_EQ(has_colour(png, x0, y, data::kGalleryWrongFirst), green != 0) << "row " << r << ", correct at " << green;
  }
}

TEST(Gallery, NegativeCountIsRefused) {
  eval::EvalOptions o;
  o.gallery = -1;
  EXPECT_THROW(o.validate(), Error);
}

}  // namespace
}  // namespace cma::testing
#endif
