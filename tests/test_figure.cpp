// The figure behind plot.svg and plot.png: the rasteriser's coverage is the exact area of each
// shape (a triangle, a rectangle on half pixels, a disc), strokes and dashes land where they
// should, text stays inside its box and a vertical text is the horizontal one turned, and the
// SVG holds the same items. A run's plot.png decodes to the figure's size.
#include <gtest/gtest.h>

#include <array>
#include <cmath>
#include <numeric>

#include "data/image_decode.h"
#include "data_writers.h"
#include "sraal/figure.h"
#include "sraal/report.h"

namespace sr {
namespace {

// Darkness of a pixel in [0, 1] (0 white, 1 black), from the red channel.
double ink(const Raster& r, int x, int y) {
  return 1.0 - r.rgb[(size_t(y) * size_t(r.width) + size_t(x)) * 3] / 255.0;
}

double total_ink(const Raster& r) {
  double s = 0;
  for (int y = 0; y < r.height; ++y)
    for (int x = 0; x < r.width; ++x) s += ink(r, x, y);
  return s;
}

Figure blank(double w, double h) {
  Figure f;
  f.width = w, f.height = h;
  return f;
}

TEST(Figure, FillsTheExactAreaOfAShape) {
  // Coverage is exact horizontally and sampled at 4 sub-rows vertically: a triangle's area
  // within 1%, each pixel rounded to 1/255.
  Figure f = blank(100, 100);
  f.polygon({{10, 10}, {90, 20}, {30, 85}}, "#000000");
  const double area = 0.5 * std::fabs((90 - 10) * (85 - 10) - (30 - 10) * (20 - 10));
  EXPECT_NEAR(total_ink(rasterize(f, 1)), area, 0.01 * area);

  // A rectangle from x = 10.5: the edge pixel half covered, inside full, outside empty.
  f = blank(40, 40);
  f.rect({10.5, 10}, {10, 10}, "#000000");
  Raster r = rasterize(f, 1);
  EXPECT_NEAR(ink(r, 10, 15), 0.5, 1.0 / 255);
  EXPECT_NEAR(ink(r, 15, 15), 1.0, 1e-9);
  EXPECT_NEAR(ink(r, 25, 15), 0.0, 1e-9);
  EXPECT_NEAR(total_ink(r), 100, 0.5);

  // Half opacity halves the ink; a disc of radius 10 at scale 2 has area 4 pi 100 (the
  // polygon of 80 sides 0.1% short of it).
  f = blank(40, 40);
  f.rect({0, 0}, {10, 10}, "#000000", 0.5);
  EXPECT_NEAR(total_ink(rasterize(f, 1)), 50, 0.5);
  f = blank(40, 40);
  f.circle({20, 20}, 10, "#000000");
  EXPECT_NEAR(total_ink(rasterize(f, 2)), 4 * M_PI * 100, 0.01 * 4 * M_PI * 100);
}

TEST(Figure, StrokesAndDashesLandOnTheirPath) {
  Figure f = blank(100, 20);
  f.line({10, 10}, {90, 10}, "#000000", 2);
  Raster r = rasterize(f, 1);
  EXPECT_NEAR(total_ink(r), 80 * 2, 1);  // a butt-capped 80 x 2 stroke
  EXPECT_NEAR(ink(r, 50, 9), 1, 1e-6);
  EXPECT_NEAR(ink(r, 50, 10), 1, 1e-6);
  EXPECT_NEAR(ink(r, 50, 12), 0, 1e-9);

  // Dashes of 6 on and 3 off from x = 10: ink at 12 (first dash), none at 17 (first gap).
  f = blank(100, 20);
  f.line({10, 10}, {91, 10}, "#000000", 2, true);
  r = rasterize(f, 1);
  EXPECT_GT(ink(r, 12, 10), 0.99);
  EXPECT_LT(ink(r, 17, 10), 0.01);
  EXPECT_GT(ink(r, 20, 10), 0.99);          // the second dash, 19 to 25
  EXPECT_NEAR(total_ink(r), 9 * 6 * 2, 1);  // 81 = 9 periods of 9
  // A colour blends by channel: pure red keeps red at 255 and takes green and blue to 0.
  f = blank(10, 10);
  f.rect({0, 0}, {10, 10}, "#ff0000");
  r = rasterize(f, 1);
  EXPECT_EQ(r.rgb[0], 255);
  EXPECT_EQ(r.rgb[1], 0);
  EXPECT_EQ(r.rgb[2], 0);
}

TEST(Figure, TextStaysInItsBoxAndTurnsWhenVertical) {
  // "10%" at font size 12: the ink lies above the baseline (digits have no descender) and
  // within a box of cap height 0.72 x 12 = 8.64, starting at the anchor.
  Figure f = blank(60, 30);
  f.text({5, 20}, "10%");
  Raster r = rasterize(f, 1);
  double inside = 0, outside = 0;
  for (int y = 0; y < r.height; ++y)
    for (int x = 0; x < r.width; ++x)
      (y >= 20 - 9 && y < 20 && x >= 5 && x < 5 + 3 * 9 ? inside : outside) += ink(r, x, y);
  EXPECT_GT(inside, 20);
  EXPECT_EQ(outside, 0);

  // Anchored at the end, the text ends at the anchor.
  f = blank(60, 30);
  f.text({50, 20}, "10%", Figure::Anchor::end);
  r = rasterize(f, 1);
  for (int y = 0; y < r.height; ++y)
    for (int x = 51; x < r.width; ++x) EXPECT_EQ(ink(r, x, y), 0) << x << "," << y;

  // Vertical text is the horizontal one turned by -90 degrees about its anchor: the same ink
  // (within the 4 sub-rows' sampling, which runs across the glyphs in one and along them in the
  // other) around the turned centre.
  Figure h = blank(40, 40), v = blank(40, 40);
  h.text({10, 20}, "ab");
  v.text({20, 30}, "ab", Figure::Anchor::start, 0, true);
  const Raster rh = rasterize(h, 1), rv = rasterize(v, 1);
  auto centre = [](const Raster& r) {
    double s = 0, sx = 0, sy = 0;
    for (int y = 0; y < r.height; ++y)
      for (int x = 0; x < r.width; ++x) {
        double k = ink(r, x, y);
        s += k, sx += k * (x + 0.5), sy += k * (y + 0.5);
      }
    return std::array<double, 3>{s, sx / s, sy / s};
  };
  const auto ch = centre(rh), cv = centre(rv);
  EXPECT_NEAR(ch[0], cv[0], 0.03 * ch[0]);
  // Along d = x - 10, across e = y - 20 in h; at (20 + e, 30 - d) in v.
  EXPECT_NEAR(cv[1], 20 + (ch[2] - 20), 0.3);
  EXPECT_NEAR(cv[2], 30 - (ch[1] - 10), 0.3);
}

TEST(Figure, SvgHoldsTheSameItems) {
  Figure f = blank(200, 100);
  f.rect({0, 0}, {200, 100}, "#ffffff");
  f.line({0, 0}, {10, 10}, "#dddddd");
  f.polyline({{0, 0}, {10, 10}, {20, 0}}, "#d62728", 2, true);
  f.polygon({{0, 0}, {10, 0}, {10, 10}}, "#1f77b4", 0.18);
  f.circle({5, 5}, 3, "#2ca02c");
  f.text({20, 30}, "a < b & ±1", Figure::Anchor::middle, 14, true);
  const std::string svg = to_svg(f);
  EXPECT_NE(svg.find("<line x1=\"0.0\" y1=\"0.0\" x2=\"10.0\" y2=\"10.0\" stroke=\"#dddddd\"/>"),
            std::string::npos)
      << svg;
  EXPECT_NE(svg.find("stroke-width=\"2\" stroke-dasharray=\"6 3\""), std::string::npos) << svg;
  EXPECT_NE(svg.find("fill-opacity=\"0.18\""), std::string::npos) << svg;
  EXPECT_NE(svg.find("<circle cx=\"5.0\" cy=\"5.0\" r=\"3\" fill=\"#2ca02c\"/>"),
            std::string::npos);
  EXPECT_NE(svg.find("font-size=\"14\" transform=\"rotate(-90 20.0 30.0)\" "
                     "text-anchor=\"middle\">a &lt; b &amp; ±1</text>"),
            std::string::npos)
      << svg;
}

TEST(Figure, PlotPngDecodesToTheFiguresSize) {
  std::vector<ResultRow> rows;
  for (int trial = 1; trial <= 2; ++trial)
    for (int c = 0; c < 3; ++c) {
      ResultRow r;
      r.method = "sraal", r.trial = trial, r.cycle = c;
      r.labeled = 100 * (c + 1), r.labeled_fraction = 0.1 * (c + 1);
      r.metric = "accuracy", r.value = 0.5 + 0.1 * c + 0.01 * trial;
      rows.push_back(r);
    }
  testing_data::TempDir dir;
  const Figure fig = plot_figure(rows, {"sraal"}, "t");
  write_png(dir / "plot.png", fig, 2);
  ImageHeader h = read_image_header(dir / "plot.png");
  EXPECT_EQ(h.width, 2 * int(fig.width));
  EXPECT_EQ(h.height, 2 * int(fig.height));
  EXPECT_EQ(plot_svg(rows, {"sraal"}, "t"), to_svg(fig));
}

}  // namespace
}  // namespace sr
