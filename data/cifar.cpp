// CIFAR binary readers: whole files read, checked record by record, decoded into memory (the
// record parser also takes bytes held in memory, for fuzzing).
#include "data/cifar.h"

#include <filesystem>
#include <fstream>

#include "engine/error.h"

namespace sr {

namespace {

namespace fs = std::filesystem;

constexpr int64_t kPixels = 3 * 32 * 32;

const char* kCifar10Names[] = {"airplane", "automobile", "bird",  "cat",  "deer",
                               "dog",      "frog",       "horse", "ship", "truck"};

// The directory holding the files: `dir/sub` when it exists, else `dir` itself.
std::string resolve_dir(const std::string& dir, const std::string& sub, const std::string& name) {
  if (fs::is_directory(fs::path(dir) / sub)) return (fs::path(dir) / sub).string();
  SR_CHECK_IO(fs::is_directory(dir), "{}: data directory not found (dataset {})", dir, name);
  return dir;
}

std::vector<uint8_t> read_file(const std::string& path) {
  SR_CHECK_IO(fs::is_regular_file(path), "{}: file not found", path);
  std::ifstream f(path, std::ios::binary);
  SR_CHECK_IO(f.good(), "{}: cannot open", path);
  std::vector<uint8_t> bytes(size_t(fs::file_size(path)));
  f.read(reinterpret_cast<char*>(bytes.data()), std::streamsize(bytes.size()));
  SR_CHECK_IO(f.gcount() == std::streamsize(bytes.size()), "{}: read error", path);
  return bytes;
}

// Appends the records of one file's bytes (`path` names it in messages). `label_bytes` label
// bytes precede the pixels; byte k must be below limits[k]; byte `use` is the label kept.
void parse_records(const std::string& path, std::span<const uint8_t> bytes, int64_t label_bytes,
                   const std::vector<int64_t>& limits, int64_t use, std::vector<uint8_t>& pixels,
                   std::vector<int64_t>& labels) {
  int64_t record = label_bytes + kPixels, size = int64_t(bytes.size());
  SR_CHECK_IO(size > 0, "{}: empty file (no records)", path);
  SR_CHECK_IO(size % record == 0,
              "{}: truncated: {} bytes is not a whole number of {}-byte records; record {} is "
              "incomplete ({} of {} bytes)",
              path, size, record, size / record, size % record, record);
  const char* which[] = {"coarse label", "fine label"};
  for (int64_t r = 0; r < size / record; ++r) {
    const uint8_t* rec = bytes.data() + r * record;
    for (int64_t k = 0; k < label_bytes; ++k)
      SR_CHECK_IO(rec[k] < limits[size_t(k)], "{}: {} {} of record {} is out of range [0, {})",
                  path, label_bytes == 1 ? "label" : which[k], rec[k], r, limits[size_t(k)]);
    labels.push_back(rec[use]);
    pixels.insert(pixels.end(), rec + label_bytes, rec + record);
  }
}

void read_records(const std::string& path, int64_t label_bytes, const std::vector<int64_t>& limits,
                  int64_t use, std::vector<uint8_t>& pixels, std::vector<int64_t>& labels) {
  parse_records(path, read_file(path), label_bytes, limits, use, pixels, labels);
}

// Class names, one per non-empty line of `path` when it exists, else `fallback`.
std::vector<std::string> read_names(const std::string& path, int64_t count,
                                    std::vector<std::string> fallback) {
  if (!fs::exists(path)) return fallback;
  std::ifstream f(path);
  SR_CHECK_IO(f.good(), "{}: cannot open", path);
  std::vector<std::string> names;
  std::string line;
  while (std::getline(f, line)) {
    size_t a = line.find_first_not_of(" \t\r"), b = line.find_last_not_of(" \t\r");
    if (a != std::string::npos) names.push_back(line.substr(a, b - a + 1));
  }
  SR_CHECK_IO(int64_t(names.size()) == count, "{}: expected {} class names, found {}", path, count,
              names.size());
  return names;
}

std::shared_ptr<InMemoryDataset> make(const std::string& name,
                                      const std::vector<std::string>& names,
                                      std::vector<uint8_t> pixels, std::vector<int64_t> labels) {
  DatasetInfo info{name, 3, 32, 32, int64_t(names.size()), names};
  return std::make_shared<InMemoryDataset>(info, std::move(pixels), std::move(labels));
}

std::vector<std::string> numbers(int64_t n) {
  std::vector<std::string> v;
  for (int64_t k = 0; k < n; ++k) v.push_back(std::to_string(k));
  return v;
}

}  // namespace

std::shared_ptr<InMemoryDataset> parse_cifar_records(const std::string& path,
                                                     std::span<const uint8_t> bytes,
                                                     CifarFormat format) {
  std::vector<uint8_t> px;
  std::vector<int64_t> labels;
  if (format == CifarFormat::cifar10) {
    parse_records(path, bytes, 1, {10}, 0, px, labels);
    return make("cifar10",
                std::vector<std::string>(std::begin(kCifar10Names), std::end(kCifar10Names)),
                std::move(px), std::move(labels));
  }
  bool coarse = format == CifarFormat::cifar100_coarse;
  parse_records(path, bytes, 2, {20, 100}, coarse ? 0 : 1, px, labels);
  return make("cifar100", numbers(coarse ? 20 : 100), std::move(px), std::move(labels));
}

DatasetSplits load_cifar10(const std::string& dir_in) {
  std::string dir = resolve_dir(dir_in, "cifar-10-batches-bin", "cifar10");
  std::vector<std::string> names =
      read_names(dir + "/batches.meta.txt", 10,
                 std::vector<std::string>(std::begin(kCifar10Names), std::end(kCifar10Names)));
  DatasetSplits s;
  std::vector<uint8_t> px;
  std::vector<int64_t> labels;
  for (int b = 1; b <= 5; ++b)
    read_records(dir + "/data_batch_" + std::to_string(b) + ".bin", 1, {10}, 0, px, labels);
  s.train = make("cifar10", names, std::move(px), std::move(labels));
  px.clear(), labels.clear();
  read_records(dir + "/test_batch.bin", 1, {10}, 0, px, labels);
  s.test = make("cifar10", names, std::move(px), std::move(labels));
  return s;
}

DatasetSplits load_cifar100(const std::string& dir_in, bool coarse) {
  std::string dir = resolve_dir(dir_in, "cifar-100-binary", "cifar100");
  int64_t classes = coarse ? 20 : 100;
  std::vector<std::string> names =
      read_names(dir + (coarse ? "/coarse_label_names.txt" : "/fine_label_names.txt"), classes,
                 numbers(classes));
  DatasetSplits s;
  for (const char* split : {"train", "test"}) {
    std::vector<uint8_t> px;
    std::vector<int64_t> labels;
    read_records(dir + "/" + split + ".bin", 2, {20, 100}, coarse ? 0 : 1, px, labels);
    (std::string(split) == "train" ? s.train : s.test) =
        make("cifar100", names, std::move(px), std::move(labels));
  }
  if (coarse) s.notes.push_back("labels: the 20 coarse superclasses (--coarse-labels)");
  return s;
}

}  // namespace sr
