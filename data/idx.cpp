// IDX reader: big-endian header (magic 0x0000080N with N dims, then N sizes), then the bytes.
// Read through zlib's gzread, which passes plain files through unchanged; bytes held in memory
// are read through the same gzread from an anonymous in-memory file, so both behave alike.
#include "data/idx.h"

#include <sys/mman.h>
#include <unistd.h>
#include <zlib.h>

#include <cerrno>
#include <cstring>
#include <filesystem>

#include <fmt/ranges.h>

#include "engine/error.h"

namespace sr {

namespace {

const char* kFashionClasses[] = {"T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
                                 "Sandal",      "Shirt",   "Sneaker",  "Bag",   "Ankle boot"};

// The largest data section accepted (16 GiB), and how much is read (and allocated) at a time,
// so a header that claims more than the file holds costs no more memory than the file.
constexpr uint64_t kMaxDataBytes = uint64_t(1) << 34;
constexpr size_t kReadChunk = size_t(1) << 24;

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
  // `bytes` as the contents of a file called `name`.
  GzFile(const std::string& name, std::span<const uint8_t> bytes) : path_(name) {
    int fd = memfd_create("sraal-idx", MFD_CLOEXEC);
    SR_CHECK_IO(fd >= 0, "{}: cannot create an in-memory file ({})", name, std::strerror(errno));
    size_t put = 0;
    while (put < bytes.size()) {
      ssize_t w = write(fd, bytes.data() + put, bytes.size() - put);
      if (w <= 0) {
        int err = errno;
        close(fd);
        throw IOError(
            fmt::format("{}: cannot write an in-memory file ({})", name, std::strerror(err)));
      }
      put += size_t(w);
    }
    if (lseek(fd, 0, SEEK_SET) != 0 || (f_ = gzdopen(fd, "rb")) == nullptr) {
      close(fd);
      throw IOError(fmt::format("{}: cannot open", name));
    }
  }
  ~GzFile() {
    if (f_) gzclose(f_);
  }
  GzFile(const GzFile&) = delete;
  GzFile& operator=(const GzFile&) = delete;

  // Reads exactly n bytes or throws naming what was being read.
  void read(void* dst, size_t n, const char* what) { check_full(read_some(dst, n, what), n, what); }
  // Reads exactly n bytes into `out`, which grows as they arrive.
  void read_into(std::vector<uint8_t>& out, size_t n, const char* what) {
    out.clear();
    out.reserve(std::min(n, kReadChunk));
    size_t got = 0;
    while (got < n) {
      size_t step = std::min(n - got, kReadChunk);
      out.resize(got + step);
      size_t r = read_some(out.data() + got, step, what);
      got += r;
      if (r < step) break;
    }
    check_full(got, n, what);
  }
  bool at_end() {
    char c;
    return gzread(f_, &c, 1) == 0;
  }

 private:
  // Reads up to n bytes, fewer only at the end of the data.
  size_t read_some(void* dst, size_t n, const char* what) {
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
    return got;
  }
  void check_full(size_t got, size_t n, const char* what) {
    SR_CHECK_IO(got == n, "{}: truncated: {} needs {} bytes, only {} present", path_, what, n, got);
  }

  std::string path_;
  gzFile f_ = nullptr;
};

IdxArray read_idx(GzFile& f, const std::string& path, int expected_dims) {
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
    // Every size but the item count must be positive (a 0-pixel-high image is no image).
    SR_CHECK_IO(d == 0 || n > 0, "{}: header declares size 0 in dimension {}", path, d);
    a.dims.push_back(n);
    // The product is checked as it grows: 32-bit sizes multiply past 64 bits and would wrap.
    SR_CHECK_IO(n == 0 || total <= kMaxDataBytes / uint64_t(n),
                "{}: header declares more than {} bytes of data ({} items of {})", path,
                kMaxDataBytes, a.dims[0], fmt::join(a.dims.begin() + 1, a.dims.end(), "x"));
    total *= uint64_t(n);
  }
  f.read_into(a.data, size_t(total), "the data");
  SR_CHECK_IO(f.at_end(), "{}: extra bytes after the {} items the header declares", path,
              a.dims.empty() ? 0 : a.dims[0]);
  return a;
}

std::shared_ptr<InMemoryDataset> make_dataset(const std::string& name, IdxArray img,
                                              const std::string& images_path, IdxArray lab,
                                              const std::string& labels_path, int64_t num_classes) {
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
  IdxArray img, lab;
  {
    GzFile f(images_path);
    img = read_idx(f, images_path, 3);
  }
  {
    GzFile f(labels_path);
    lab = read_idx(f, labels_path, 1);
  }
  return make_dataset(name, std::move(img), images_path, std::move(lab), labels_path, num_classes);
}

std::shared_ptr<InMemoryDataset> parse_idx_pair(
    const std::string& name, const std::string& images_name, std::span<const uint8_t> images,
    const std::string& labels_name, std::span<const uint8_t> labels, int64_t num_classes) {
  IdxArray img, lab;
  {
    GzFile f(images_name, images);
    img = read_idx(f, images_name, 3);
  }
  {
    GzFile f(labels_name, labels);
    lab = read_idx(f, labels_name, 1);
  }
  return make_dataset(name, std::move(img), images_name, std::move(lab), labels_name, num_classes);
}

DatasetSplits load_mnist_dir(const std::string& name, const std::string& dir) {
  SR_CHECK_IO(std::filesystem::is_directory(dir), "{}: data directory not found (dataset {})", dir,
              name);
  DatasetSplits s;
  s.train = load_idx_pair(name, find_file(dir, "train-images-idx3-ubyte"),
                          find_file(dir, "train-labels-idx1-ubyte"), 10);
  s.test = load_idx_pair(name, find_file(dir, "t10k-images-idx3-ubyte"),
                         find_file(dir, "t10k-labels-idx1-ubyte"), 10);
  const DatasetInfo &tr = s.train->info(), &te = s.test->info();
  SR_CHECK_IO(tr.height == te.height && tr.width == te.width,
              "{}: the test images are {}x{} but the training images {}x{}",
              find_file(dir, "t10k-images-idx3-ubyte"), te.height, te.width, tr.height, tr.width);
  return s;
}

}  // namespace sr
