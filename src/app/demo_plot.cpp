// curves.png for `cma demo`: two line charts side by side, drawn with OpenCV's primitives.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <string>
#include <vector>

#include "cma/app/demo.h"
#include "cma/core/atomic_file.h"
#include "cma/core/error.h"

#ifdef CMA_WITH_OPENCV
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>
#endif

namespace cma::app {

#ifdef CMA_WITH_OPENCV
namespace {

constexpr int kPanelW = 520, kPanelH = 360, kLegendH = 32, kLeft = 64, kRight = 16, kTop = 40, kBottom = 48;

struct Series {
  std::string label;
  cv::Scalar colour;  // BGR
  std::vector<cv::Point2d> points;  // (epoch, value)
  bool level = false;               // a horizontal line across the panel (zero-shot)
};

std::string label_of(double v) {
  char buf[32];
  std::snprintf(buf, sizeof(buf), std::fabs(v) >= 10 || v == std::floor(v) ? "%.0f" : "%.2f", v);
  return buf;
}

void text(cv::Mat& img, const std::string& s, cv::Point at, double scale = 0.45, int thickness = 1) {
  cv::putText(img, s, at, cv::FONT_HERSHEY_SIMPLEX, scale, cv::Scalar(40, 40, 40), thickness, cv::LINE_AA);
}

// One chart into `panel`: axes with a few ticks, every series, and its title.
void draw_panel(cv::Mat panel, const std::string& title, const std::vector<Series>& series,
                int max_epoch, bool y_from_zero) {
  double lo = y_from_zero ? 0.0 : 1e300, hi = -1e300;
  for (const auto& s : series) {
    for (const auto& p : s.points) lo = std::min(lo, p.y), hi = std::max(hi, p.y);
  }
  if (hi <= lo) hi = lo + 1;
  hi += 0.05 * (hi - lo);
  const int w = panel.cols - kLeft - kRight, h = panel.rows - kTop - kBottom;
  const double x_lo = 1, x_hi = std::max(2, max_epoch);
  const auto to_px = [&](double x, double y) {
    return cv::Point(kLeft + static_cast<int>(std::lround((x - x_lo) / (x_hi - x_lo) * w)),
                     kTop + h - static_cast<int>(std::lround((y - lo) / (hi - lo) * h)));
  };
  text(panel, title, cv::Point(kLeft, 24), 0.55, 1);
  cv::rectangle(panel, cv::Point(kLeft, kTop), cv::Point(kLeft + w, kTop + h), cv::Scalar(120, 120, 120), 1);
  for (int i = 0; i <= 4; ++i) {
    const double y = lo + (hi - lo) * i / 4;
    const auto p = to_px(x_lo, y);
    cv::line(panel, p, cv::Point(kLeft + w, p.y), cv::Scalar(225, 225, 225), 1);
    text(panel, label_of(y), cv::Point(6, p.y + 4), 0.4);
  }
  for (int e = 1; e <= max_epoch; ++e) {
    const auto p = to_px(e, lo);
    text(panel, std::to_string(e), cv::Point(p.x - 4, kTop + h + 18), 0.4);
  }
  text(panel, "epoch", cv::Point(kLeft + w / 2 - 20, kTop + h + 38), 0.45);
  for (const auto& s : series) {
    if (s.points.empty()) continue;
    if (s.level) {
      const auto a = to_px(x_lo, s.points.front().y), b = to_px(x_hi, s.points.front().y);
      for (int x = a.x; x < b.x; x += 12) {  // dashed
        cv::line(panel, cv::Point(x, a.y), cv::Point(std::min(x + 6, b.x), a.y), s.colour, 2, cv::LINE_AA);
      }
    } else {
      for (size_t i = 0; i < s.points.size(); ++i) {
        const auto p = to_px(s.points[i].x, s.points[i].y);
        cv::circle(panel, p, 3, s.colour, cv::FILLED, cv::LINE_AA);
        if (i) cv::line(panel, to_px(s.points[i - 1].x, s.points[i - 1].y), p, s.colour, 2, cv::LINE_AA);
      }
    }
  }
}

// One legend for both charts, in a strip below them, where it can cover no line.
void draw_legend(cv::Mat strip, const std::vector<Series>& series) {
  int x = kLeft;
  for (const auto& s : series) {
    const int y = strip.rows / 2;
    if (s.level) {
      for (int d = 0; d < 28; d += 12) cv::line(strip, cv::Point(x + d, y), cv::Point(x + d + 6, y), s.colour, 2);
    } else {
      cv::line(strip, cv::Point(x, y), cv::Point(x + 28, y), s.colour, 2);
    }
    text(strip, s.label + (s.level ? " (no training)" : ""), cv::Point(x + 36, y + 5), 0.45);
    x += 60 + 10 * static_cast<int>(s.label.size()) + (s.level ? 110 : 0);
  }
}

cv::Scalar colour_of(const std::string& key) {
  if (key == "adapters_b") return cv::Scalar(40, 110, 230);   // orange-red
  if (key == "full_b") return cv::Scalar(180, 110, 30);       // blue
  return cv::Scalar(130, 130, 130);                           // grey: zero-shot
}

}  // namespace

void write_curves_png(const std::string& path, const DemoReport& r) {
  std::vector<Series> loss, recall;
  int max_epoch = 1;
  for (const auto& m : r.on_b) {
    Series l{m.name, colour_of(m.key), {}, false}, rec{m.name, colour_of(m.key), {}, m.curve.empty()};
    if (m.curve.empty()) {
      rec.points.push_back({1, m.t2v.value("R1", 0.0)});
    }
    for (const auto& p : m.curve) {
      l.points.push_back({static_cast<double>(p.epoch), p.loss});
      rec.points.push_back({static_cast<double>(p.epoch), p.t2v_r1});
      max_epoch = std::max(max_epoch, p.epoch);
    }
    if (!m.curve.empty()) loss.push_back(l);
    recall.push_back(rec);
  }
  cv::Mat img(kPanelH + kLegendH, 2 * kPanelW, CV_8UC3, cv::Scalar(255, 255, 255));
  draw_panel(img(cv::Rect(0, 0, kPanelW, kPanelH)), "Training loss on B (mean per epoch)", loss, max_epoch, false);
  draw_panel(img(cv::Rect(kPanelW, 0, kPanelW, kPanelH)), "Text-to-video R@1 (%) on B's test clips", recall,
             max_epoch, true);
  draw_legend(img(cv::Rect(0, kPanelH, 2 * kPanelW, kLegendH)), recall);
  std::vector<uchar> png;
  require(cv::imencode(".png", img, png), "cannot encode " + path + " as PNG");
  write_file_atomic(path, [&](std::FILE* f) {
    require(std::fwrite(png.data(), 1, png.size(), f) == png.size(), "cannot write " + path);
  });
}

#else

void write_curves_png(const std::string& path, const DemoReport&) {
  throw Error("cannot draw " + path + ": this build has no OpenCV (configure with -DCMA_WITH_OPENCV=ON)");
}

#endif

}  // namespace cma::app
