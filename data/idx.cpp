// IDX reader: big-endian header (magic 0x0000080N with N dims, then N sizes), then the bytes.
// Read through zlib's gzread, which passes plain files through unchanged.
#include "data/idx.h"

#include <zlib.h>

#include <filesystem>

#include "engine/error.h"

namespace sr {

namespace {

const char* kFashionClasses[] = {"T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
                                 "Sandal",      "Shirt",   "Sneaker",  "Bag",   "Ankle boot"};

struct IdxArray {
  std::vector<int64_t> dims;
  std::vector<uint8_t> data;
};

class GzFile {
 public:
  explicit GzFile(const std::string& path) : path_(path) {
    SR_CHECK_IO(std::filesystem::is_regular_file(path), "{}: file not found", path);
    f_ = gzopen(path.c_str(), "rb");
    SR_CHECK_IO(f_ != nullptr, "{}: cannot open", path);
  }
  ~GzFile() {
    if (f_) gzclose(f_);
  }
  // Reads exactly n bytes or throws naming what was being read.
  void read(void* dst, size_t n, const char* what) {
    size_t got = 0;
    while (got < n) {
      unsigned chunk = unsigned(std::min<size_t>(n - got, 1u << 30));
      int r = gzread(f_, static_cast<char*>(dst) + got, chunk);
      if (r < 0) {
        int err = 0;
        const char* msg = gzerror(f_, &err);
        SR_CHECK_IO(err != Z_BUF_ERROR, "{}: truncated: the compressed data ends while reading {}",
                    path_, what);
        throw IOError(fmt::format("{}: corrupt compressed data while reading {} ({})", path_, what,
                                  msg ? msg : "zlib error"));
      }
      if (r == 0) break;
      got += size_t(r);
    }
    SR_CHECK_IO(got == n, "{}: truncated: {} needs {} bytes, only {} present", path_, what, n, got);
  }
  bool at_end() {
    char c;
    return gzread(f_, &c, 1) == 0;
  }

 private:
  std::string path_;
  gzFile f_ = nullptr;
};

IdxArray read_idx(const std::string& path, int expected_dims) {
  GzFile f(path);
  uint8_t magic[4];
  f.read(magic, 4, "the magic number");
  SR_CHECK_IO(magic[0] == 0 && magic[1] == 0 && magic[2] == 0x08 && magic[3] == expected_dims,
              "{}: wrong magic number {:02x}{:02x}{:02x}{:02x} (expected 000008{:02x}: unsigned "
              "bytes, {} dimensions)",
              path, magic[0], magic[1], magic[2], magic[3], expected_dims, expected_dims);
  IdxArray a;
  uint64_t total = 1;
  for (int d = 0; d < expected_dims; ++d) {
    uint8_t b[4];
    f.read(b, 4, "the header");
    int64_t n = (int64_t(b[0]) << 24) | (int64_t(b[1]) << 16) | (int64_t(b[2]) << 8) | b[3];
    a.dims.push_back(n);
    total *= uint64_t(n);
  }
  SR_CHECK_IO(total <= (uint64_t(1) << 34), "{}: header claims {} bytes of data", path, total);
  a.data.resize(size_t(total));
  f.read(a.data.data(), a.data.size(), "the data");
  SR_CHECK_IO(f.at_end(), "{}: extra bytes after the {} items the header declares", path,
              a.dims.empty() ? 0 : a.dims[0]);
  return a;
}

std::string find_file(const std::string& dir, const std::string& stem) {
  for (const char* ext : {".gz", ""}) {
    std::string p = dir + "/" + stem + ext;
    if (std::filesystem::is_regular_file(p)) return p;
  }
  throw IOError(fmt::format("{}/{}[.gz]: file not found", dir, stem));
}

}  // namespace

std::shared_ptr<InMemoryDataset> load_idx_pair(const std::string& name,
                                               const std::string& images_path,
                                               const std::string& labels_path,
                                               int64_t num_classes) {
  IdxArray img = read_idx(images_path, 3);
  IdxArray lab = read_idx(labels_path, 1);
  SR_CHECK_IO(img.dims[0] == lab.dims[0], "{}: count mismatch: {} labels but {} has {} images",
              labels_path, lab.dims[0], images_path, img.dims[0]);
  SR_CHECK_IO(img.dims[0] > 0, "{}: no images", images_path);
  std::vector<int64_t> labels(lab.data.size());
  for (size_t i = 0; i < lab.data.size(); ++i) {
    SR_CHECK_IO(lab.data[i] < num_classes, "{}: label {} of item {} is out of range [0, {})",
                labels_path, lab.data[i], i, num_classes);
    labels[i] = lab.data[i];
  }
  DatasetInfo info{name, 1, img.dims[1], img.dims[2], num_classes, {}};
  for (int64_t k = 0; k < num_classes; ++k)
    info.class_names.push_back(name == "fashion-mnist" ? kFashionClasses[k] : std::to_string(k));
  return std::make_shared<InMemoryDataset>(info, std::move(img.data), std::move(labels));
}

DatasetSplits load_mnist_dir(const std::string& name, const std::string& dir) {
  SR_CHECK_IO(std::filesystem::is_directory(dir), "{}: data directory not found (dataset {})",
              dir, name);
  DatasetSplits s;
  s.train = load_idx_pair(name, find_file(dir, "train-images-idx3-ubyte"),
                          find_file(dir, "train-labels-idx1-ubyte"), 10);
  s.test = load_idx_pair(name, find_file(dir, "t10k-images-idx3-ubyte"),
                         find_file(dir, "t10k-labels-idx1-ubyte"), 10);
  return s;
}

}  // namespace sr
