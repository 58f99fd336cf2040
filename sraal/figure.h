// A small 2-D drawing that is written both as SVG text and as a PNG image, so that a run's plot
// (sraal/report.h) is drawn once and saved both ways without any plotting library.
//
// Coordinates are pixels of a width x height canvas, y pointing down. Items are drawn in order
// (painter's algorithm). The rasteriser fills every shape by its exact area coverage per pixel
// (4 sub-scanlines per pixel row, exact horizontal span coverage), so edges are anti-aliased;
// a line or polyline is a filled polygon per segment with round joins (dashes: 6 on, 3 off, in
// units of the stroke's canvas pixels at scale 1). Text uses stb_easy_font's built-in glyphs
// (ASCII only: "±" is drawn as "+/-", dashes as "-").
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace sr {

struct Figure {
  using Point = std::pair<double, double>;
  enum class Kind { line, polyline, polygon, circle, rect, text };
  enum class Anchor { start, middle, end };
  struct Item {
    Kind kind = Kind::line;
    std::vector<Point>
        points;  // line: its 2 ends; polyline, polygon: the vertices; rect: corner, size
    std::string color = "#000000";  // #rrggbb
    double opacity = 1, stroke_width = 1, radius = 0;
    bool dashed = false;
    std::string text;
    double font_size = 12;
    Anchor anchor = Anchor::start;
    bool vertical = false;  // text rotated by -90 degrees about its anchor point
  };

  double width = 0, height = 0;
  double font_size = 12;  // of text items that give none
  std::vector<Item> items;

  void line(Point from, Point to, std::string color, double width = 1, bool dashed = false);
  void polyline(std::vector<Point> points, std::string color, double width = 1,
                bool dashed = false);
  void polygon(std::vector<Point> points, std::string color, double opacity = 1);
  void circle(Point center, double radius, std::string color);
  void rect(Point corner, Point size, std::string color, double opacity = 1);
  void text(Point at, std::string text, Anchor anchor = Anchor::start, double size = 0,
            bool vertical = false);
};

std::string to_svg(const Figure& f);

// The figure as 8-bit RGB pixels (height x width x 3, rows top to bottom) at `scale` canvas
// pixels per figure pixel.
struct Raster {
  int width = 0, height = 0;
  std::vector<uint8_t> rgb;
};
Raster rasterize(const Figure& f, int scale);
// rasterize(f, scale) as a PNG file (stb_image_write), written atomically. IOError naming `path`.
void write_png(const std::string& path, const Figure& f, int scale = 2);

}  // namespace sr
