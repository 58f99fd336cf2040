// `sraal data`: loads a dataset and prints what a user needs to trust it: items per split, the
// image shape, classes with per-class counts (pixels for segmentation), mean/std per channel and
// a content fingerprint per split.
#include <fmt/format.h>

#include <algorithm>
#include <cstdio>

#include "app/commands.h"
#include "app/dataset_flags.h"
#include "data/summary.h"

namespace sr::app {

namespace {

std::string floats(const std::vector<float>& v) {
  std::string s;
  for (float x : v) s += fmt::format("{}{:.4f}", s.empty() ? "" : " ", x);
  return s;
}

}  // namespace

Runner add_data(CLI::App& app) {
  auto flags = std::make_shared<DatasetFlags>(app);
  return [flags] {
    DatasetOptions o = flags->options();
    DatasetSplits d = load_dataset(o);
    const DatasetInfo& info = d.train->info();
    std::string dir = o.name == "synthetic" || o.name == "synthetic-seg" ? "(generated)"
                      : o.dir.empty()                                    ? default_data_dir(o.name)
                                                                         : o.dir;
    std::printf("dataset      %s\n", info.name.c_str());
    std::printf("directory    %s\n", dir.c_str());
    std::printf("task         %s, %lld classes\n",
                info.segmentation ? "segmentation" : "classification", (long long)info.num_classes);
    std::printf("image        %lld x %lld x %lld (C x H x W)\n", (long long)info.channels,
                (long long)info.height, (long long)info.width);
    if (info.segmentation)
      std::printf("label map    %lld x %lld (H x W), ignore index %lld\n", (long long)info.height,
                  (long long)info.width, (long long)info.ignore_index);
    for (const std::string& n : d.notes) std::printf("note         %s\n", n.c_str());
    std::fflush(stdout);

    SplitSummary tr = summarize(*d.train), te = summarize(*d.test);
    auto row = [](const char* what, const std::string& a, const std::string& b) {
      std::printf("%-12s %-24s %s\n", what, a.c_str(), b.c_str());
    };
    std::printf("\n");
    row("split", "train", "test");
    row("items", std::to_string(tr.items), std::to_string(te.items));
    row("mean", floats(tr.mean), floats(te.mean));
    row("std", floats(tr.std), floats(te.std));
    row("fingerprint", tr.fingerprint, te.fingerprint);

    const char* head = info.segmentation ? "class (pixels)" : "class (items)";
    int id_w = int(std::to_string(std::max<int64_t>(info.num_classes - 1, 0)).size());
    std::vector<std::string> labels;
    size_t col = std::string(head).size();
    for (int64_t c = 0; c < info.num_classes; ++c) {
      std::string name = size_t(c) < info.class_names.size() ? info.class_names[size_t(c)] : "";
      labels.push_back(fmt::format("{:>{}} {}", c, id_w, name));
      col = std::max(col, labels.back().size());
    }
    std::string ignored = fmt::format("ignored ({})", info.ignore_index);
    auto count_row = [&](const std::string& label, int64_t a, int64_t b) {
      std::printf("%-*s %14lld %14lld\n", int(col), label.c_str(), (long long)a, (long long)b);
    };
    std::printf("\n%-*s %14s %14s\n", int(col), head, "train", "test");
    for (int64_t c = 0; c < info.num_classes; ++c)
      count_row(labels[size_t(c)], tr.class_counts[size_t(c)], te.class_counts[size_t(c)]);
    if (info.segmentation) count_row(ignored, tr.ignored_pixels, te.ignored_pixels);
    return 0;
  };
}

}  // namespace sr::app
