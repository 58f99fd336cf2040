// The result files of a run: results.csv (one row per method, trial and cycle), summary.md
// (mean ± sd per method per labeled fraction) and the plot, plot.svg and plot.png (metric
// against labeled fraction per method, with ±1 sd bands).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "sraal/figure.h"

namespace sr {

struct ResultRow {
  std::string method;
  int64_t trial = 0, cycle = 0, labeled = 0;
  double labeled_fraction = 0;
  // "accuracy" or "miou" (segmentation); "val_" before it when measured on a validation split.
  std::string metric = "accuracy";
  double value = 0;  // the metric, in [0, 1]
  double train_seconds = 0, select_seconds = 0;
  std::vector<double> class_iou;  // segmentation: per class, NaN where undefined; else empty
};

nlohmann::json to_json(const ResultRow& r);
ResultRow row_from_json(const nlohmann::json& j);

// "method,trial,cycle,labeled,labeled_fraction,metric,value,train_seconds,select_seconds\n..."
std::string results_csv(const std::vector<ResultRow>& rows);

// class_iou.csv of a segmentation run, one row per (method, trial, cycle, class):
// "method,trial,cycle,labeled,labeled_fraction,class,name,iou\n..." with iou empty where the
// class is absent from both truth and predictions. Rows without class IoU are left out.
std::string class_iou_csv(const std::vector<ResultRow>& rows,
                          const std::vector<std::string>& class_names);

struct Aggregate {
  std::string method;
  double labeled_fraction = 0;
  int64_t n = 0;
  double mean = 0, sd = 0;  // sample standard deviation (0 when n = 1)
};
// Per (method, fraction), methods in `methods` order, fractions ascending.
std::vector<Aggregate> aggregate(const std::vector<ResultRow>& rows,
                                 const std::vector<std::string>& methods);

// summary.md: the table; per method the area under the budget curve (AUBC); the paired
// difference of every method to random per fraction and in AUBC, with its standard error and
// paired t-test p (sraal/statistics.h); the win/tie/loss matrix at p < 0.05 over the fractions.
// `notes` (reductions from the paper, timing) follow.
std::string summary_markdown(const std::vector<ResultRow>& rows,
                             const std::vector<std::string>& methods, const std::string& title,
                             const std::vector<std::string>& notes);

// The axis step for about `raw` per tick: the smallest of 1, 2, 2.5 and 5 times a power of ten
// that is at least `raw`; and the decimals its tick labels need (2.5 -> 1, 0.25 -> 2, 5 -> 0).
double nice_tick_step(double raw);
int tick_decimals(double step);

// The plot: mean metric (%) against labeled fraction, one line and ±1 sd band per method (the
// legend says so, with the number of trials); the metric axis at a nice_tick_step. Written as
// plot.svg (plot_svg) and plot.png (write_png(path, plot_figure(...)), sraal/figure.h).
Figure plot_figure(const std::vector<ResultRow>& rows, const std::vector<std::string>& methods,
                   const std::string& title);
std::string plot_svg(const std::vector<ResultRow>& rows, const std::vector<std::string>& methods,
                     const std::string& title);

}  // namespace sr
