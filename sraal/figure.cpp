// A figure as SVG text and as an anti-aliased PNG raster (see figure.h).
#include "sraal/figure.h"

#if defined(__GNUC__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wunused-function"
#pragma GCC diagnostic ignored "-Wsign-compare"
#pragma GCC diagnostic ignored "-Wconversion"
#endif
#include <stb/stb_easy_font.h>
#if defined(__GNUC__)
#pragma GCC diagnostic pop
#endif
#include <stb/stb_image_write.h>  // declarations only: data/stb_impl.cpp holds the code

#include <algorithm>
#include <cmath>

#include <fmt/format.h>

#include "engine/atomic_file.h"
#include "engine/error.h"

namespace sr {

void Figure::line(Point from, Point to, std::string color, double width, bool dashed) {
  polyline({from, to}, std::move(color), width, dashed);
  items.back().kind = Kind::line;
}

void Figure::polyline(std::vector<Point> points, std::string color, double width, bool dashed) {
  Item it;
  it.kind = Kind::polyline, it.points = std::move(points), it.color = std::move(color);
  it.stroke_width = width, it.dashed = dashed;
  items.push_back(std::move(it));
}

void Figure::polygon(std::vector<Point> points, std::string color, double opacity) {
  Item it;
  it.kind = Kind::polygon, it.points = std::move(points), it.color = std::move(color);
  it.opacity = opacity;
  items.push_back(std::move(it));
}

void Figure::circle(Point center, double radius, std::string color) {
  Item it;
  it.kind = Kind::circle, it.points = {center}, it.radius = radius, it.color = std::move(color);
  items.push_back(std::move(it));
}

void Figure::rect(Point corner, Point size, std::string color, double opacity) {
  Item it;
  it.kind = Kind::rect, it.points = {corner, size}, it.color = std::move(color);
  it.opacity = opacity;
  items.push_back(std::move(it));
}

void Figure::text(Point at, std::string s, Anchor anchor, double size, bool vertical) {
  Item it;
  it.kind = Kind::text, it.points = {at}, it.text = std::move(s), it.anchor = anchor;
  it.font_size = size > 0 ? size : font_size, it.vertical = vertical;
  items.push_back(std::move(it));
}

namespace {

std::string xml_escaped(const std::string& s) {
  std::string out;
  for (char c : s) {
    if (c == '&')
      out += "&amp;";
    else if (c == '<')
      out += "&lt;";
    else if (c == '>')
      out += "&gt;";
    else
      out += c;
  }
  return out;
}

std::string points_attr(const std::vector<Figure::Point>& pts) {
  std::string s;
  for (const auto& [x, y] : pts) s += fmt::format("{}{:.1f},{:.1f}", s.empty() ? "" : " ", x, y);
  return s;
}

}  // namespace

std::string to_svg(const Figure& f) {
  std::string s = fmt::format(
      "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{0}\" height=\"{1}\" viewBox=\"0 0 {0} "
      "{1}\" font-family=\"sans-serif\" font-size=\"{2}\">\n",
      f.width, f.height, f.font_size);
  for (const Figure::Item& it : f.items) {
    const std::string dash = it.dashed ? " stroke-dasharray=\"6 3\"" : "";
    const std::string opacity =
        it.opacity < 1 ? fmt::format(" fill-opacity=\"{}\"", it.opacity) : "";
    switch (it.kind) {
      case Figure::Kind::line:
        s += fmt::format(
            "<line x1=\"{:.1f}\" y1=\"{:.1f}\" x2=\"{:.1f}\" y2=\"{:.1f}\" stroke=\"{}\"{}{}/>\n",
            it.points[0].first, it.points[0].second, it.points[1].first, it.points[1].second,
            it.color,
            it.stroke_width != 1 ? fmt::format(" stroke-width=\"{}\"", it.stroke_width) : "", dash);
        break;
      case Figure::Kind::polyline:
        s += fmt::format(
            "<polyline points=\"{}\" fill=\"none\" stroke=\"{}\" stroke-width=\"{}\"{}/>\n",
            points_attr(it.points), it.color, it.stroke_width, dash);
        break;
      case Figure::Kind::polygon:
        s += fmt::format("<polygon points=\"{}\" fill=\"{}\"{} stroke=\"none\"/>\n",
                         points_attr(it.points), it.color, opacity);
        break;
      case Figure::Kind::circle:
        s += fmt::format("<circle cx=\"{:.1f}\" cy=\"{:.1f}\" r=\"{}\" fill=\"{}\"/>\n",
                         it.points[0].first, it.points[0].second, it.radius, it.color);
        break;
      case Figure::Kind::rect:
        s += fmt::format(
            "<rect x=\"{:.1f}\" y=\"{:.1f}\" width=\"{}\" height=\"{}\" fill=\"{}\"{}/>\n",
            it.points[0].first, it.points[0].second, it.points[1].first, it.points[1].second,
            it.color, opacity);
        break;
      case Figure::Kind::text: {
        const auto [x, y] = it.points[0];
        const char* anchor = it.anchor == Figure::Anchor::middle ? " text-anchor=\"middle\""
                             : it.anchor == Figure::Anchor::end  ? " text-anchor=\"end\""
                                                                 : "";
        s += fmt::format(
            "<text x=\"{:.1f}\" y=\"{:.1f}\"{}{}{}>{}</text>\n", x, y,
            it.font_size != f.font_size ? fmt::format(" font-size=\"{}\"", it.font_size) : "",
            it.vertical ? fmt::format(" transform=\"rotate(-90 {:.1f} {:.1f})\"", x, y) : "",
            anchor, xml_escaped(it.text));
        break;
      }
    }
  }
  return s + "</svg>\n";
}

namespace {

using Point = Figure::Point;

struct Rgb {
  float r = 0, g = 0, b = 0;
};

Rgb parse_color(const std::string& c) {
  SR_CHECK_VALUE(c.size() == 7 && c[0] == '#', "figure: colour '{}' is not #rrggbb", c);
  const unsigned v = unsigned(std::stoul(c.substr(1), nullptr, 16));
  return {float((v >> 16) & 255), float((v >> 8) & 255), float(v & 255)};
}

// An RGB canvas and a coverage buffer: a shape's polygons add their area coverage of each
// pixel (clamped to 1 when blended, so overlapping pieces of one stroke do not darken), then
// the shape is blended over the canvas at its colour and opacity.
class Canvas {
 public:
  Canvas(int w, int h)
      : w_(w), h_(h), rgb_(size_t(w) * size_t(h) * 3, 255.f), cov_(size_t(w) * size_t(h), 0.f) {}

  void add_polygon(const std::vector<Point>& p) {
    if (p.size() < 3) return;
    double ymin = 1e30, ymax = -1e30;
    for (const auto& [x, y] : p) ymin = std::min(ymin, y), ymax = std::max(ymax, y);
    const int r0 = std::max(0, int(std::floor(ymin))), r1 = std::min(h_ - 1, int(std::ceil(ymax)));
    constexpr int kSub = 4;  // sub-scanlines per pixel row
    std::vector<double> xs;
    for (int row = r0; row <= r1; ++row)
      for (int k = 0; k < kSub; ++k) {
        const double sy = row + (k + 0.5) / kSub;
        xs.clear();
        for (size_t i = 0; i < p.size(); ++i) {
          const Point& a = p[i];
          const Point& b = p[(i + 1) % p.size()];
          if ((a.second <= sy) != (b.second <= sy))
            xs.push_back(a.first + (sy - a.second) * (b.first - a.first) / (b.second - a.second));
        }
        std::sort(xs.begin(), xs.end());
        for (size_t i = 0; i + 1 < xs.size(); i += 2) span(row, xs[i], xs[i + 1], 1.0 / kSub);
      }
  }

  // Blends the accumulated coverage at `color` x `opacity` and clears it.
  void blend(const std::string& color, double opacity) {
    const Rgb c = parse_color(color);
    for (int row = top_; row <= bottom_; ++row)
      for (int x = left_; x <= right_; ++x) {
        float& cv = cov_[size_t(row) * size_t(w_) + size_t(x)];
        if (cv <= 0) continue;
        const float a = std::min(1.f, cv) * float(opacity);
        float* px = &rgb_[(size_t(row) * size_t(w_) + size_t(x)) * 3];
        px[0] += (c.r - px[0]) * a, px[1] += (c.g - px[1]) * a, px[2] += (c.b - px[2]) * a;
        cv = 0;
      }
    top_ = h_, bottom_ = -1, left_ = w_, right_ = -1;
  }

  Raster raster() const {
    Raster r{w_, h_, std::vector<uint8_t>(rgb_.size())};
    for (size_t i = 0; i < rgb_.size(); ++i)
      r.rgb[i] = uint8_t(std::lround(std::clamp(rgb_[i], 0.f, 255.f)));
    return r;
  }

 private:
  // Adds `weight` x the horizontal overlap of [x0, x1] with each pixel of the row.
  void span(int row, double x0, double x1, double weight) {
    x0 = std::max(x0, 0.0), x1 = std::min(x1, double(w_));
    if (x1 <= x0) return;
    const int c0 = int(std::floor(x0)), c1 = std::min(w_ - 1, int(std::floor(x1)));
    for (int c = c0; c <= c1; ++c) {
      const double overlap = std::min(x1, c + 1.0) - std::max(x0, double(c));
      if (overlap > 0) cov_[size_t(row) * size_t(w_) + size_t(c)] += float(weight * overlap);
    }
    top_ = std::min(top_, row), bottom_ = std::max(bottom_, row);
    left_ = std::min(left_, c0), right_ = std::max(right_, c1);
  }

  int w_, h_;
  std::vector<float> rgb_, cov_;
  int top_ = 1 << 30, bottom_ = -1, left_ = 1 << 30, right_ = -1;
};

std::vector<Point> circle_points(Point c, double r) {
  std::vector<Point> p;
  const int n = std::max(12, int(r * 4));
  for (int i = 0; i < n; ++i) {
    const double t = 2 * M_PI * i / n;
    p.push_back({c.first + r * std::cos(t), c.second + r * std::sin(t)});
  }
  return p;
}

// A stroke of width w along the polyline: a quad per segment, a disc at each inner joint.
void add_stroke(Canvas& cv, const std::vector<Point>& p, double w) {
  for (size_t i = 0; i + 1 < p.size(); ++i) {
    const double dx = p[i + 1].first - p[i].first, dy = p[i + 1].second - p[i].second;
    const double len = std::hypot(dx, dy);
    if (len <= 0) continue;
    const double nx = -dy / len * w / 2, ny = dx / len * w / 2;
    cv.add_polygon({{p[i].first + nx, p[i].second + ny},
                    {p[i + 1].first + nx, p[i + 1].second + ny},
                    {p[i + 1].first - nx, p[i + 1].second - ny},
                    {p[i].first - nx, p[i].second - ny}});
    if (i > 0 && w >= 2) cv.add_polygon(circle_points(p[i], w / 2));
  }
}

// The pieces of a polyline that a dash pattern (on, off) leaves drawn.
std::vector<std::vector<Point>> dashes(const std::vector<Point>& p, double on, double off) {
  std::vector<std::vector<Point>> out;
  std::vector<Point> cur;
  double phase = 0;  // distance into the current on+off period
  bool drawing = true;
  for (size_t i = 0; i + 1 < p.size(); ++i) {
    Point a = p[i];
    const Point b = p[i + 1];
    double left = std::hypot(b.first - a.first, b.second - a.second);
    if (drawing && cur.empty()) cur.push_back(a);
    while (left > 0) {
      const double until = (drawing ? on : on + off) - phase;
      const double step = std::min(until, left);
      const double t = step / left;
      a = {a.first + (b.first - a.first) * t, a.second + (b.second - a.second) * t};
      left -= step, phase += step;
      if (step < until) break;  // the segment ends inside this dash or gap
      if (drawing) {
        cur.push_back(a);
        out.push_back(std::move(cur));
        cur.clear();
      } else {
        cur = {a};
        phase = 0;
      }
      drawing = !drawing;
    }
    if (drawing) cur.push_back(b);
  }
  if (drawing && cur.size() > 1) out.push_back(std::move(cur));
  return out;
}

// stb_easy_font's glyphs are 7 units from the top of a capital to the baseline; a sans-serif
// capital is about 0.72 of the font size.
// Its glyphs are also wider than a proportional sans-serif's: they are narrowed by kNarrow.
constexpr double kGlyphCap = 7, kCapHeight = 0.72, kNarrow = 0.8;

std::string ascii_text(const std::string& s) {
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    const unsigned char c = static_cast<unsigned char>(s[i]);
    if (c < 0x80) {
      out += char(c);
    } else if (s.compare(i, 2, "\xC2\xB1") == 0) {  // ±
      out += "+/-", i += 1;
    } else if (s.compare(i, 3, "\xE2\x80\x93") == 0 || s.compare(i, 3, "\xE2\x80\x94") == 0) {
      out += "-", i += 2;  // en and em dashes
    } else {
      out += '?';
      while (i + 1 < s.size() && (static_cast<unsigned char>(s[i + 1]) & 0xC0) == 0x80) ++i;
    }
  }
  return out;
}

// stb_easy_font's '%' reads as '7' at plot sizes: drawn here instead, in the same units (6
// wide with its spacing, 7 high): two small squares and a slash.
constexpr double kPercentAdvance = 6;
const std::vector<std::vector<Point>>& percent_glyph() {
  static const std::vector<std::vector<Point>> g = {{{0, 0}, {2, 0}, {2, 2}, {0, 2}},
                                                    {{3, 5}, {5, 5}, {5, 7}, {3, 7}},
                                                    {{4.3, 0}, {5.3, 0}, {0.7, 7}, {-0.3, 7}}};
  return g;
}

// The text's glyphs as polygons in units: x along the text from its start, y down from the
// top of a capital.
std::vector<std::vector<Point>> text_glyphs(std::string text, double* width) {
  std::vector<std::vector<Point>> out;
  double x = 0;
  for (size_t start = 0; start <= text.size();) {
    const size_t pct = std::min(text.find('%', start), text.size());
    std::string piece = text.substr(start, pct - start);
    if (!piece.empty()) {
      std::vector<char> buf(piece.size() * 300 + 64);
      const int quads =
          stb_easy_font_print(float(x), 0, piece.data(), nullptr, buf.data(), int(buf.size()));
      const float* v = reinterpret_cast<const float*>(buf.data());
      for (int q = 0; q < quads; ++q) {
        std::vector<Point> quad;
        for (int k = 0; k < 4; ++k) {
          const float* vert = v + (q * 4 + k) * 4;  // x, y, z, colour: 16 bytes
          quad.push_back({vert[0], vert[1]});
        }
        out.push_back(std::move(quad));
      }
      x += stb_easy_font_width(piece.data());
    }
    if (pct == text.size()) break;
    for (std::vector<Point> g : percent_glyph()) {
      for (auto& p : g) p.first += x;
      out.push_back(std::move(g));
    }
    x += kPercentAdvance;
    start = pct + 1;
  }
  *width = x;
  return out;
}

void add_text(Canvas& cv, const Figure::Item& it, double scale) {
  double units = 0;
  const std::vector<std::vector<Point>> glyphs = text_glyphs(ascii_text(it.text), &units);
  const double u = it.font_size * kCapHeight / kGlyphCap * scale;  // canvas pixels per unit
  const double ux = u * kNarrow;
  const double width = units * ux;
  const double shift = it.anchor == Figure::Anchor::middle ? width / 2
                       : it.anchor == Figure::Anchor::end  ? width
                                                           : 0;
  const double ax = it.points[0].first * scale, ay = it.points[0].second * scale;
  for (const std::vector<Point>& g : glyphs) {
    std::vector<Point> pts;
    for (const auto& [gx, gy] : g) {
      // Along the text (d) and across it (e, downwards from the baseline).
      const double d = gx * ux - shift, e = (gy - kGlyphCap) * u;
      pts.push_back(it.vertical ? Point{ax + e, ay - d} : Point{ax + d, ay + e});
    }
    cv.add_polygon(pts);
  }
}

}  // namespace

Raster rasterize(const Figure& f, int scale) {
  SR_CHECK_VALUE(scale >= 1 && scale <= 8 && f.width > 0 && f.height > 0,
                 "figure: cannot rasterise {}x{} at scale {}", f.width, f.height, scale);
  Canvas cv(int(std::ceil(f.width * scale)), int(std::ceil(f.height * scale)));
  auto scaled = [&](std::vector<Point> p) {
    for (auto& [x, y] : p) x *= scale, y *= scale;
    return p;
  };
  for (const Figure::Item& it : f.items) {
    switch (it.kind) {
      case Figure::Kind::line:
      case Figure::Kind::polyline: {
        const std::vector<Point> p = scaled(it.points);
        if (it.dashed)
          for (const auto& piece : dashes(p, 6.0 * scale, 3.0 * scale))
            add_stroke(cv, piece, it.stroke_width * scale);
        else
          add_stroke(cv, p, it.stroke_width * scale);
        break;
      }
      case Figure::Kind::polygon:
        cv.add_polygon(scaled(it.points));
        break;
      case Figure::Kind::circle:
        cv.add_polygon(scaled(circle_points(it.points[0], it.radius)));
        break;
      case Figure::Kind::rect: {
        const auto [x, y] = it.points[0];
        const auto [w, h] = it.points[1];
        cv.add_polygon(scaled({{x, y}, {x + w, y}, {x + w, y + h}, {x, y + h}}));
        break;
      }
      case Figure::Kind::text:
        add_text(cv, it, scale);
        break;
    }
    cv.blend(it.color, it.opacity);
  }
  return cv.raster();
}

void write_png(const std::string& path, const Figure& f, int scale) {
  const Raster r = rasterize(f, scale);
  std::string bytes;
  auto append = [](void* out, void* data, int n) {
    static_cast<std::string*>(out)->append(static_cast<const char*>(data), size_t(n));
  };
  const int ok =
      stbi_write_png_to_func(append, &bytes, r.width, r.height, 3, r.rgb.data(), r.width * 3);
  SR_CHECK_IO(ok != 0 && !bytes.empty(), "{}: cannot encode the PNG", path);
  write_file_atomic(path, bytes);
}

}  // namespace sr
