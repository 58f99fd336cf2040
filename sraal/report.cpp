// results.csv, summary.md and the plot (plot.svg and plot.png; see report.h).
#include "sraal/report.h"

#include "sraal/statistics.h"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <map>
#include <tuple>
#include <utility>

#include <fmt/format.h>

namespace sr {

nlohmann::json to_json(const ResultRow& r) {
  nlohmann::json j = {{"method", r.method},
                      {"trial", r.trial},
                      {"cycle", r.cycle},
                      {"labeled", r.labeled},
                      {"labeled_fraction", r.labeled_fraction},
                      {"metric", r.metric},
                      {"value", r.value},
                      {"train_seconds", r.train_seconds},
                      {"select_seconds", r.select_seconds}};
  if (!r.class_iou.empty()) {
    nlohmann::json iou = nlohmann::json::array();
    for (double v : r.class_iou)
      iou.push_back(std::isnan(v) ? nlohmann::json() : nlohmann::json(v));
    j["class_iou"] = iou;
  }
  return j;
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
  if (j.contains("class_iou"))
    for (const nlohmann::json& v : j.at("class_iou"))
      r.class_iou.push_back(v.is_null() ? std::nan("") : v.get<double>());
  return r;
}

std::string class_iou_csv(const std::vector<ResultRow>& rows,
                          const std::vector<std::string>& class_names) {
  std::string s = "method,trial,cycle,labeled,labeled_fraction,class,name,iou\n";
  for (const ResultRow& r : rows)
    for (size_t c = 0; c < r.class_iou.size(); ++c) {
      double v = r.class_iou[c];
      s += fmt::format("{},{},{},{},{:.4f},{},{},{}\n", r.method, r.trial, r.cycle, r.labeled,
                       r.labeled_fraction, c, c < class_names.size() ? class_names[c] : "",
                       std::isnan(v) ? "" : fmt::format("{:.6f}", v));
    }
  return s;
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

namespace {

// A labeled fraction as a key in 1e-4 units, so that 0.1 * 3 and 0.3 are one fraction.
int64_t fraction_key(double f) {
  return std::llround(f * 1e4);
}

// Mean and sample standard deviation (0 for one value).
std::pair<double, double> mean_sd(const std::vector<double>& v) {
  double mean = 0, ss = 0;
  for (double x : v) mean += x / double(v.size());
  for (double x : v) ss += (x - mean) * (x - mean);
  return {mean, v.size() > 1 ? std::sqrt(ss / double(v.size() - 1)) : 0.0};
}

// "86.50 ± 1.32" in percent, or "75.15 —" for a single value, which has no sd.
std::string mean_sd_text(double mean, double sd, size_t n) {
  return n > 1 ? fmt::format("{:.2f} ± {:.2f}", 100 * mean, 100 * sd)
               : fmt::format("{:.2f} —", 100 * mean);
}

// "accuracy" or "mIoU" for a metric without its "val_" prefix.
std::string metric_name(const std::vector<ResultRow>& rows) {
  std::string metric = rows.empty() ? "accuracy" : rows.front().metric;
  if (metric.rfind("val_", 0) == 0) metric = metric.substr(4);
  return metric == "miou" ? "mIoU" : metric;
}

// "test accuracy", or "validation accuracy" for a run measured on a validation split (metric
// "val_accuracy"); "test mIoU" for segmentation.
std::string metric_label(const std::vector<ResultRow>& rows) {
  bool val = !rows.empty() && rows.front().metric.rfind("val_", 0) == 0;
  return (val ? "validation " : "test ") + metric_name(rows);
}

}  // namespace

std::vector<Aggregate> aggregate(const std::vector<ResultRow>& rows,
                                 const std::vector<std::string>& methods) {
  std::vector<Aggregate> out;
  for (const std::string& m : methods) {
    std::map<int64_t, std::vector<double>> by_fraction;
    for (const ResultRow& r : rows)
      if (r.method == m) by_fraction[fraction_key(r.labeled_fraction)].push_back(r.value);
    for (const auto& [key, v] : by_fraction) {
      Aggregate a;
      a.method = m;
      a.labeled_fraction = double(key) / 1e4;
      a.n = int64_t(v.size());
      std::tie(a.mean, a.sd) = mean_sd(v);
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

// value[method][trial][fraction_key] of the rows.
using TrialValues = std::map<std::string, std::map<int64_t, std::map<int64_t, double>>>;

TrialValues trial_values(const std::vector<ResultRow>& rows) {
  TrialValues v;
  for (const ResultRow& r : rows) v[r.method][r.trial][fraction_key(r.labeled_fraction)] = r.value;
  return v;
}

// Per trial of `m` that measured every fraction: its AUBC.
std::map<int64_t, double> trial_aubc(const TrialValues& v, const std::string& m,
                                     const std::vector<double>& fracs) {
  std::map<int64_t, double> out;
  auto it = v.find(m);
  if (it == v.end()) return out;
  for (const auto& [trial, by_f] : it->second) {
    std::vector<double> vals;
    for (double f : fracs)
      if (by_f.count(fraction_key(f))) vals.push_back(by_f.at(fraction_key(f)));
    if (vals.size() == fracs.size() && !vals.empty()) out[trial] = aubc(vals);
  }
  return out;
}

// The paired test of a against b over the trials both have (values in [0, 1]).
PairedTest paired(const std::map<int64_t, double>& a, const std::map<int64_t, double>& b) {
  std::vector<double> x, y;
  for (const auto& [t, v] : a)
    if (b.count(t)) x.push_back(v), y.push_back(b.at(t));
  return paired_t_test(x, y);
}

std::map<int64_t, double> at_fraction(const TrialValues& v, const std::string& m, double f) {
  std::map<int64_t, double> out;
  auto it = v.find(m);
  if (it == v.end()) return out;
  for (const auto& [trial, by_f] : it->second)
    if (by_f.count(fraction_key(f))) out[trial] = by_f.at(fraction_key(f));
  return out;
}

std::string paired_cell(const PairedTest& t) {
  if (t.n == 0) return " – |";
  if (t.n < 2) return fmt::format(" {:+.2f} (n={}) |", 100 * t.mean, t.n);
  return fmt::format(" {:+.2f} ± {:.2f} (p {:.3f}{}) |", 100 * t.mean, 100 * t.se, t.p,
                     t.p < 0.05 ? " *" : "");
}

// AUBC per method, paired differences to random, and the win/tie/loss matrix.
std::string comparison_markdown(const std::vector<ResultRow>& rows,
                                const std::vector<std::string>& methods,
                                const std::vector<double>& fracs) {
  TrialValues v = trial_values(rows);
  std::string s = fmt::format(
      "\nArea under the budget curve (AUBC: the mean {} over the fractions, %), per trial "
      "that measured every fraction, then mean ± sd over those trials.\n\n| method | AUBC | n |\n"
      "| --- | --- | --- |\n",
      metric_name(rows));
  for (const auto& m : methods) {
    std::map<int64_t, double> a = trial_aubc(v, m, fracs);
    if (a.empty()) {
      s += fmt::format("| {} | – | 0 |\n", m);
      continue;
    }
    std::vector<double> vals;
    for (const auto& [t, x] : a) vals.push_back(x);
    auto [mean, sd] = mean_sd(vals);
    s += fmt::format("| {} | {} | {} |\n", m, mean_sd_text(mean, sd, a.size()), a.size());
  }
  if (methods.size() < 2) return s;
  if (std::find(methods.begin(), methods.end(), "random") != methods.end()) {
    s += "\nPaired difference to random (points; methods share the initial pool and weights "
         "within a trial): mean ± standard error over trials, two-sided paired t-test p; * = "
         "p < 0.05.\n\n| labeled |";
    for (const auto& m : methods)
      if (m != "random") s += " " + m + " |";
    s += "\n| --- |";
    for (const auto& m : methods)
      if (m != "random") s += " --- |";
    s += "\n";
    for (double f : fracs) {
      s += fmt::format("| {:.0f}% |", 100 * f);
      for (const auto& m : methods)
        if (m != "random")
          s += paired_cell(paired(at_fraction(v, m, f), at_fraction(v, "random", f)));
      s += "\n";
    }
    s += "| AUBC |";
    for (const auto& m : methods)
      if (m != "random")
        s += paired_cell(paired(trial_aubc(v, m, fracs), trial_aubc(v, "random", fracs)));
    s += "\n";
  }
  s += fmt::format(
      "\nWins / ties / losses of the row method against the column method over the {} "
      "fractions: a win is a positive paired difference with p < 0.05, a loss a negative one, "
      "anything else (or fewer than 2 paired trials) a tie.\n\n| |",
      fracs.size());
  for (const auto& m : methods) s += " " + m + " |";
  s += "\n| --- |";
  for (size_t i = 0; i < methods.size(); ++i) s += " --- |";
  s += "\n";
  for (const auto& a : methods) {
    s += "| " + a + " |";
    for (const auto& b : methods) {
      if (a == b) {
        s += " – |";
        continue;
      }
      int w = 0, t = 0, l = 0;
      for (double f : fracs) {
        PairedTest p = paired(at_fraction(v, a, f), at_fraction(v, b, f));
        if (p.n >= 2 && p.p < 0.05 && p.mean > 0)
          ++w;
        else if (p.n >= 2 && p.p < 0.05 && p.mean < 0)
          ++l;
        else
          ++t;
      }
      s += fmt::format(" {}/{}/{} |", w, t, l);
    }
    s += "\n";
  }
  return s;
}

}  // namespace

std::string summary_markdown(const std::vector<ResultRow>& rows,
                             const std::vector<std::string>& methods, const std::string& title,
                             const std::vector<std::string>& notes) {
  std::vector<Aggregate> aggs = aggregate(rows, methods);
  std::vector<double> fracs = fractions_of(aggs);
  std::string label = metric_label(rows);
  label[0] = char(std::toupper(static_cast<unsigned char>(label[0])));
  std::string s =
      fmt::format("# {}\n\n{} (%), mean ± sd over trials (n = trials finished).\n\n", title, label);
  s += "| labeled |";
  for (const auto& m : methods) s += " " + m + " |";
  s += "\n| --- |";
  for (size_t i = 0; i < methods.size(); ++i) s += " --- |";
  s += "\n";
  for (double f : fracs) {
    s += fmt::format("| {:.0f}% |", 100 * f);
    for (const auto& m : methods) {
      const Aggregate* a = find(aggs, m, f);
      s += a ? fmt::format(" {} (n={}) |", mean_sd_text(a->mean, a->sd, size_t(a->n)), a->n)
             : " – |";
    }
    s += "\n";
  }
  s += comparison_markdown(rows, methods, fracs);
  if (!notes.empty()) {
    s += "\n";
    for (const auto& n : notes) s += "- " + n + "\n";
  }
  return s;
}

double nice_tick_step(double raw) {
  if (!(raw > 0) || !std::isfinite(raw)) return 1;
  const double p = std::pow(10.0, std::floor(std::log10(raw)));
  for (double m : {1.0, 2.0, 2.5, 5.0})
    if (m * p >= raw * (1 - 1e-12)) return m * p;
  return 10 * p;
}

int tick_decimals(double step) {
  int d = 0;
  while (d < 6 && std::fabs(step * std::pow(10.0, d) - std::round(step * std::pow(10.0, d))) >
                      1e-9 * std::pow(10.0, d))
    ++d;
  return d;
}

Figure plot_figure(const std::vector<ResultRow>& rows, const std::vector<std::string>& methods,
                   const std::string& title) {
  // Ten distinct colours (the first method red), then the same dashed; fainter bands when many
  // methods overlap, so that eight or nine lines stay readable.
  static const char* kColors[] = {"#d62728", "#1f77b4", "#2ca02c", "#ff7f0e", "#9467bd",
                                  "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf"};
  const double band_opacity = methods.size() > 4 ? 0.07 : 0.18;
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
  const double ystep = nice_tick_step((y1 - y0 + 2 * pad) / 6);
  y0 = ystep * std::floor((y0 - pad) / ystep), y1 = ystep * std::ceil((y1 + pad) / ystep);
  const int ydecimals = tick_decimals(ystep);
  auto X = [&](double f) { return left + (W - left - right) * (f - x0) / (x1 - x0); };
  auto Y = [&](double v) { return H - bottom - (H - top - bottom) * (v - y0) / (y1 - y0); };
  using A = Figure::Anchor;

  Figure fig;
  fig.width = W, fig.height = H;
  fig.rect({0, 0}, {W, H}, "#ffffff");
  // A long title (many methods) shrinks to stay within the figure (about 0.55 em a character).
  const double title_size = std::min(14.0, (W - left - 10) / (0.55 * double(title.size())));
  fig.text({left, 22}, title, A::start, title_size);
  // Axes, grid and ticks.
  const int yticks = int(std::lround((y1 - y0) / ystep));
  for (int i = 0; i <= yticks; ++i) {
    double v = y0 + ystep * i;
    fig.line({left, Y(v)}, {W - right, Y(v)}, "#dddddd");
    fig.text({left - 6, Y(v) + 4}, fmt::format("{:.{}f}", v, ydecimals), A::end);
  }
  for (double f : fracs)
    fig.text({X(f), H - bottom + 18}, fmt::format("{:.0f}%", 100 * f), A::middle);
  fig.line({left, H - bottom}, {W - right, H - bottom}, "#000000");
  fig.line({left, top}, {left, H - bottom}, "#000000");
  fig.text({(left + W - right) / 2, H - 12}, "labeled fraction", A::middle);
  fig.text({16, (top + H - bottom) / 2}, metric_label(rows) + " (%)", A::middle, 0, true);
  // Bands, lines, legend.
  for (size_t k = 0; k < methods.size(); ++k) {
    const std::string color = kColors[k % 10];
    const bool dashed = k >= 10;
    std::vector<const Aggregate*> pts;
    for (double f : fracs)
      if (const Aggregate* a = find(aggs, methods[k], f)) pts.push_back(a);
    if (pts.empty()) continue;
    std::vector<Figure::Point> band, line;
    for (const Aggregate* a : pts)
      band.push_back({X(a->labeled_fraction), Y(100 * (a->mean + a->sd))});
    for (auto it = pts.rbegin(); it != pts.rend(); ++it)
      band.push_back({X((*it)->labeled_fraction), Y(100 * ((*it)->mean - (*it)->sd))});
    for (const Aggregate* a : pts) line.push_back({X(a->labeled_fraction), Y(100 * a->mean)});
    fig.polygon(band, color, band_opacity);
    fig.polyline(line, color, 2, dashed);
    for (const Aggregate* a : pts) fig.circle({X(a->labeled_fraction), Y(100 * a->mean)}, 3, color);
    double ly = top + 10 + 20 * double(k);
    fig.line({W - right + 15, ly}, {W - right + 40, ly}, color, 3, dashed);
    fig.text({W - right + 46, ly + 4}, methods[k]);
  }
  // What the bands are: ±1 sample sd over the trials (none with one trial).
  int64_t n_lo = 0, n_hi = 0;
  for (const Aggregate& a : aggs)
    n_lo = n_lo ? std::min(n_lo, a.n) : a.n, n_hi = std::max(n_hi, a.n);
  const std::string n_text = n_lo == n_hi ? std::to_string(n_hi) : fmt::format("{}–{}", n_lo, n_hi);
  const double ny = top + 10 + 20 * double(methods.size()) + 8;
  fig.rect({W - right + 15, ny - 5}, {25, 10}, "#888888", 0.3);
  fig.text({W - right + 46, ny + 4},
           n_hi > 1 ? fmt::format("±1 sd (n = {})", n_text) : std::string("one trial: no sd band"),
           A::start, 11);
  return fig;
}

std::string plot_svg(const std::vector<ResultRow>& rows, const std::vector<std::string>& methods,
                     const std::string& title) {
  return to_svg(plot_figure(rows, methods, title));
}

}  // namespace sr
