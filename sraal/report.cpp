// results.csv, summary.md and plot.svg (see report.h).
#include "sraal/report.h"

#include <algorithm>
#include <cmath>
#include <map>

#include <fmt/format.h>

namespace sr {

nlohmann::json to_json(const ResultRow& r) {
  return {{"method", r.method},
          {"trial", r.trial},
          {"cycle", r.cycle},
          {"labeled", r.labeled},
          {"labeled_fraction", r.labeled_fraction},
          {"metric", r.metric},
          {"value", r.value},
          {"train_seconds", r.train_seconds},
          {"select_seconds", r.select_seconds}};
}

ResultRow row_from_json(const nlohmann::json& j) {
  ResultRow r;
  r.method = j.at("method").get<std::string>();
  r.trial = j.at("trial").get<int64_t>();
  r.cycle = j.at("cycle").get<int64_t>();
  r.labeled = j.at("labeled").get<int64_t>();
  r.labeled_fraction = j.at("labeled_fraction").get<double>();
  r.metric = j.at("metric").get<std::string>();
  r.value = j.at("value").get<double>();
  r.train_seconds = j.at("train_seconds").get<double>();
  r.select_seconds = j.at("select_seconds").get<double>();
  return r;
}

std::string results_csv(const std::vector<ResultRow>& rows) {
  std::string s =
      "method,trial,cycle,labeled,labeled_fraction,metric,value,train_seconds,select_seconds\n";
  for (const ResultRow& r : rows)
    s += fmt::format("{},{},{},{},{:.4f},{},{:.6f},{:.2f},{:.2f}\n", r.method, r.trial, r.cycle,
                     r.labeled, r.labeled_fraction, r.metric, r.value, r.train_seconds,
                     r.select_seconds);
  return s;
}

std::vector<Aggregate> aggregate(const std::vector<ResultRow>& rows,
                                 const std::vector<std::string>& methods) {
  std::vector<Aggregate> out;
  for (const std::string& m : methods) {
    std::map<int64_t, std::vector<double>> by_fraction;  // key: fraction in 1e-4 units
    for (const ResultRow& r : rows)
      if (r.method == m) by_fraction[std::llround(r.labeled_fraction * 1e4)].push_back(r.value);
    for (const auto& [key, v] : by_fraction) {
      Aggregate a;
      a.method = m;
      a.labeled_fraction = double(key) / 1e4;
      a.n = int64_t(v.size());
      for (double x : v) a.mean += x / double(v.size());
      if (v.size() > 1) {
        double ss = 0;
        for (double x : v) ss += (x - a.mean) * (x - a.mean);
        a.sd = std::sqrt(ss / double(v.size() - 1));
      }
      out.push_back(a);
    }
  }
  return out;
}

namespace {

const Aggregate* find(const std::vector<Aggregate>& aggs, const std::string& m, double f) {
  for (const Aggregate& a : aggs)
    if (a.method == m && std::fabs(a.labeled_fraction - f) < 1e-6) return &a;
  return nullptr;
}

std::vector<double> fractions_of(const std::vector<Aggregate>& aggs) {
  std::vector<double> f;
  for (const Aggregate& a : aggs)
    if (std::none_of(f.begin(), f.end(),
                     [&](double x) { return std::fabs(x - a.labeled_fraction) < 1e-6; }))
      f.push_back(a.labeled_fraction);
  std::sort(f.begin(), f.end());
  return f;
}

}  // namespace

std::string summary_markdown(const std::vector<ResultRow>& rows,
                             const std::vector<std::string>& methods, const std::string& title,
                             const std::vector<std::string>& notes) {
  std::vector<Aggregate> aggs = aggregate(rows, methods);
  std::vector<double> fracs = fractions_of(aggs);
  std::string metric = rows.empty() ? "accuracy" : rows.front().metric;
  std::string s = fmt::format(
      "# {}\n\nTest {} (%), mean ± sd over trials (n = trials finished).\n\n", title, metric);
  s += "| labeled |";
  for (const auto& m : methods) s += " " + m + " |";
  s += "\n| --- |";
  for (size_t i = 0; i < methods.size(); ++i) s += " --- |";
  s += "\n";
  for (double f : fracs) {
    s += fmt::format("| {:.0f}% |", 100 * f);
    for (const auto& m : methods) {
      const Aggregate* a = find(aggs, m, f);
      s += a ? fmt::format(" {:.2f} ± {:.2f} (n={}) |", 100 * a->mean, 100 * a->sd, a->n) : " – |";
    }
    s += "\n";
  }
  if (methods.size() > 1) {
    const std::string& first = methods.front();
    s += fmt::format(
        "\n{} against each other method: difference of means in points; \"beyond "
        "1 sd\" when it exceeds the larger of the two standard deviations (and both "
        "have n >= 2).\n\n| labeled |",
        first);
    for (size_t i = 1; i < methods.size(); ++i) s += " vs " + methods[i] + " |";
    s += "\n| --- |";
    for (size_t i = 1; i < methods.size(); ++i) s += " --- |";
    s += "\n";
    for (double f : fracs) {
      s += fmt::format("| {:.0f}% |", 100 * f);
      const Aggregate* a = find(aggs, first, f);
      for (size_t i = 1; i < methods.size(); ++i) {
        const Aggregate* b = find(aggs, methods[i], f);
        if (!a || !b) {
          s += " – |";
          continue;
        }
        double d = 100 * (a->mean - b->mean), sd = 100 * std::max(a->sd, b->sd);
        const char* verdict = (a->n < 2 || b->n < 2) ? "n < 2"
                              : d > sd               ? "better beyond 1 sd"
                              : d < -sd              ? "worse beyond 1 sd"
                                                     : "within 1 sd";
        s += fmt::format(" {:+.2f} ({}) |", d, verdict);
      }
      s += "\n";
    }
  }
  if (!notes.empty()) {
    s += "\n";
    for (const auto& n : notes) s += "- " + n + "\n";
  }
  return s;
}

std::string plot_svg(const std::vector<ResultRow>& rows, const std::vector<std::string>& methods,
                     const std::string& title) {
  static const char* kColors[] = {"#d62728", "#1f77b4", "#2ca02c", "#ff7f0e",
                                  "#9467bd", "#8c564b", "#e377c2", "#7f7f7f"};
  std::vector<Aggregate> aggs = aggregate(rows, methods);
  std::vector<double> fracs = fractions_of(aggs);
  const double W = 720, H = 440, left = 70, right = 180, top = 40, bottom = 55;
  double x0 = fracs.empty() ? 0 : fracs.front(), x1 = fracs.empty() ? 1 : fracs.back();
  if (x1 <= x0) x1 = x0 + 0.01;
  double y0 = 1e9, y1 = -1e9;
  for (const Aggregate& a : aggs) {
    y0 = std::min(y0, 100 * (a.mean - a.sd));
    y1 = std::max(y1, 100 * (a.mean + a.sd));
  }
  if (aggs.empty()) y0 = 0, y1 = 100;
  double pad = std::max(0.5, 0.08 * (y1 - y0));
  y0 = std::floor(y0 - pad), y1 = std::ceil(y1 + pad);
  auto X = [&](double f) { return left + (W - left - right) * (f - x0) / (x1 - x0); };
  auto Y = [&](double v) { return H - bottom - (H - top - bottom) * (v - y0) / (y1 - y0); };

  std::string s = fmt::format(
      "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{0}\" height=\"{1}\" viewBox=\"0 0 {0} "
      "{1}\" font-family=\"sans-serif\" font-size=\"12\">\n<rect width=\"{0}\" height=\"{1}\" "
      "fill=\"white\"/>\n<text x=\"{2}\" y=\"22\" font-size=\"14\">{3}</text>\n",
      W, H, left, title);
  // Axes, grid and ticks.
  int yticks = 6;
  for (int i = 0; i <= yticks; ++i) {
    double v = y0 + (y1 - y0) * i / yticks;
    s += fmt::format(
        "<line x1=\"{:.1f}\" y1=\"{:.1f}\" x2=\"{:.1f}\" y2=\"{:.1f}\" stroke=\"#ddd\"/>"
        "<text x=\"{:.1f}\" y=\"{:.1f}\" text-anchor=\"end\">{:.1f}</text>\n",
        left, Y(v), W - right, Y(v), left - 6, Y(v) + 4, v);
  }
  for (double f : fracs)
    s += fmt::format("<text x=\"{:.1f}\" y=\"{:.1f}\" text-anchor=\"middle\">{:.0f}%</text>\n",
                     X(f), H - bottom + 18, 100 * f);
  s += fmt::format(
      "<line x1=\"{0}\" y1=\"{1}\" x2=\"{2}\" y2=\"{1}\" stroke=\"black\"/>"
      "<line x1=\"{0}\" y1=\"{3}\" x2=\"{0}\" y2=\"{1}\" stroke=\"black\"/>\n",
      left, H - bottom, W - right, top);
  s += fmt::format(
      "<text x=\"{:.1f}\" y=\"{:.1f}\" text-anchor=\"middle\">labeled fraction</text>\n",
      (left + W - right) / 2, H - 12);
  std::string metric = rows.empty() ? "accuracy" : rows.front().metric;
  s += fmt::format(
      "<text x=\"16\" y=\"{:.1f}\" transform=\"rotate(-90 16 {:.1f})\" "
      "text-anchor=\"middle\">test {} (%)</text>\n",
      (top + H - bottom) / 2, (top + H - bottom) / 2, metric);
  // Bands, lines, legend.
  for (size_t k = 0; k < methods.size(); ++k) {
    const char* color = kColors[k % 8];
    std::vector<const Aggregate*> pts;
    for (double f : fracs)
      if (const Aggregate* a = find(aggs, methods[k], f)) pts.push_back(a);
    if (pts.empty()) continue;
    std::string band, line;
    for (const Aggregate* a : pts)
      band += fmt::format("{:.1f},{:.1f} ", X(a->labeled_fraction), Y(100 * (a->mean + a->sd)));
    for (auto it = pts.rbegin(); it != pts.rend(); ++it)
      band += fmt::format("{:.1f},{:.1f} ", X((*it)->labeled_fraction),
                          Y(100 * ((*it)->mean - (*it)->sd)));
    for (const Aggregate* a : pts)
      line += fmt::format("{:.1f},{:.1f} ", X(a->labeled_fraction), Y(100 * a->mean));
    s += fmt::format("<polygon points=\"{}\" fill=\"{}\" fill-opacity=\"0.18\" stroke=\"none\"/>\n",
                     band, color);
    s += fmt::format("<polyline points=\"{}\" fill=\"none\" stroke=\"{}\" stroke-width=\"2\"/>\n",
                     line, color);
    for (const Aggregate* a : pts)
      s += fmt::format("<circle cx=\"{:.1f}\" cy=\"{:.1f}\" r=\"3\" fill=\"{}\"/>\n",
                       X(a->labeled_fraction), Y(100 * a->mean), color);
    double ly = top + 10 + 20 * double(k);
    s += fmt::format(
        "<line x1=\"{0:.1f}\" y1=\"{1:.1f}\" x2=\"{2:.1f}\" y2=\"{1:.1f}\" stroke=\"{3}\" "
        "stroke-width=\"3\"/><text x=\"{4:.1f}\" y=\"{5:.1f}\">{6}</text>\n",
        W - right + 15, ly, W - right + 40, color, W - right + 46, ly + 4, methods[k]);
  }
  return s + "</svg>\n";
}

}  // namespace sr
