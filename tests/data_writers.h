// Test helpers that write tiny dataset files in every format the loaders read (IDX plain and
// gzip, CIFAR binaries, PNG and JPEG through stb_image_write, 16-bit PNG by hand) into
// self-removing temporary directories, and the check that an error is an IOError naming a path
// and a fault.
#pragma once

#include <gtest/gtest.h>
#include <stb/stb_image_write.h>  // declarations only: data/stb_impl.cpp holds the code
#include <unistd.h>
#include <zlib.h>

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <functional>
#include <string>
#include <vector>

#include "engine/error.h"

namespace sr::testing_data {

namespace fs = std::filesystem;

// A fresh directory under the system temp dir, removed with everything in it at scope exit.
class TempDir {
 public:
  TempDir() {
    static int counter = 0;
    const auto* t = ::testing::UnitTest::GetInstance()->current_test_info();
    path_ = fs::temp_directory_path() / ("sraal_data_" + std::to_string(::getpid()) + "_" +
                                         (t ? t->name() : "x") + "_" + std::to_string(counter++));
    fs::remove_all(path_);
    fs::create_directories(path_);
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path_, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  std::string str() const { return path_.string(); }
  std::string operator/(const std::string& rel) const { return (path_ / rel).string(); }

 private:
  fs::path path_;
};

inline void write_bytes(const std::string& path, const std::vector<uint8_t>& bytes) {
  fs::create_directories(fs::path(path).parent_path());
  std::ofstream f(path, std::ios::binary);
  f.write(reinterpret_cast<const char*>(bytes.data()), std::streamsize(bytes.size()));
  ASSERT_TRUE(f.good()) << path;
}

inline std::vector<uint8_t> read_bytes(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  return std::vector<uint8_t>(std::istreambuf_iterator<char>(f), {});
}

inline void write_gzip(const std::string& path, const std::vector<uint8_t>& bytes) {
  fs::create_directories(fs::path(path).parent_path());
  gzFile f = gzopen(path.c_str(), "wb");
  ASSERT_NE(f, nullptr) << path;
  ASSERT_EQ(gzwrite(f, bytes.data(), unsigned(bytes.size())), int(bytes.size()));
  gzclose(f);
}

inline void put_be32(std::vector<uint8_t>& b, uint32_t v) {
  for (int s = 24; s >= 0; s -= 8) b.push_back(uint8_t(v >> s));
}

// IDX images (magic 0x00000803): n items of h x w, pixel(i, r, c).
inline std::vector<uint8_t> idx_images(int n, int h, int w,
                                       const std::function<uint8_t(int, int, int)>& pixel) {
  std::vector<uint8_t> b;
  put_be32(b, 0x803), put_be32(b, uint32_t(n)), put_be32(b, uint32_t(h)), put_be32(b, uint32_t(w));
  for (int i = 0; i < n; ++i)
    for (int r = 0; r < h; ++r)
      for (int c = 0; c < w; ++c) b.push_back(pixel(i, r, c));
  return b;
}

// IDX labels (magic 0x00000801).
inline std::vector<uint8_t> idx_labels(const std::vector<uint8_t>& labels) {
  std::vector<uint8_t> b;
  put_be32(b, 0x801), put_be32(b, uint32_t(labels.size()));
  b.insert(b.end(), labels.begin(), labels.end());
  return b;
}

// One CIFAR record: the label bytes, then 3 planes of 32 x 32 with pixel(channel, r, c).
inline void cifar_record(std::vector<uint8_t>& b, std::vector<uint8_t> label_bytes,
                         const std::function<uint8_t(int, int, int)>& pixel) {
  b.insert(b.end(), label_bytes.begin(), label_bytes.end());
  for (int ch = 0; ch < 3; ++ch)
    for (int r = 0; r < 32; ++r)
      for (int c = 0; c < 32; ++c) b.push_back(pixel(ch, r, c));
}

// PNG / JPEG of h x w x channels interleaved pixels.
inline void write_png(const std::string& path, int w, int h, int channels,
                      const std::vector<uint8_t>& hwc) {
  fs::create_directories(fs::path(path).parent_path());
  ASSERT_TRUE(stbi_write_png(path.c_str(), w, h, channels, hwc.data(), w * channels)) << path;
}
inline void write_jpg(const std::string& path, int w, int h, int channels,
                      const std::vector<uint8_t>& hwc) {
  fs::create_directories(fs::path(path).parent_path());
  ASSERT_TRUE(stbi_write_jpg(path.c_str(), w, h, channels, hwc.data(), 100)) << path;
}

// An image of one colour (1 or 3 channels).
inline std::vector<uint8_t> solid(int w, int h, std::vector<uint8_t> color) {
  std::vector<uint8_t> v;
  for (int k = 0; k < w * h; ++k) v.insert(v.end(), color.begin(), color.end());
  return v;
}

// A 16-bit gray PNG (stb_image_write writes 8-bit only): signature, IHDR, IDAT, IEND.
inline void write_png16_gray(const std::string& path, int w, int h) {
  auto chunk = [](std::vector<uint8_t>& out, const char* type, const std::vector<uint8_t>& data) {
    put_be32(out, uint32_t(data.size()));
    std::vector<uint8_t> body(type, type + 4);
    body.insert(body.end(), data.begin(), data.end());
    out.insert(out.end(), body.begin(), body.end());
    put_be32(out, uint32_t(crc32(0, body.data(), unsigned(body.size()))));
  };
  std::vector<uint8_t> png = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
  std::vector<uint8_t> ihdr;
  put_be32(ihdr, uint32_t(w)), put_be32(ihdr, uint32_t(h));
  ihdr.insert(ihdr.end(), {16, 0, 0, 0, 0});  // 16-bit, gray, deflate, no filter, no interlace
  chunk(png, "IHDR", ihdr);
  std::vector<uint8_t> raw;
  for (int r = 0; r < h; ++r) {
    raw.push_back(0);  // filter: none
    for (int c = 0; c < 2 * w; ++c) raw.push_back(uint8_t(r + c));
  }
  uLongf n = compressBound(uLong(raw.size()));
  std::vector<uint8_t> z(n);
  ASSERT_EQ(compress(z.data(), &n, raw.data(), uLong(raw.size())), Z_OK);
  z.resize(n);
  chunk(png, "IDAT", z);
  chunk(png, "IEND", {});
  write_bytes(path, png);
}

// Runs f, which must throw an IOError whose message names `path` and contains `fault`.
template <class F>
void expect_io_error(F&& f, const std::string& path, const std::string& fault) {
  try {
    f();
    ADD_FAILURE() << "no IOError; expected '" << fault << "' about " << path;
  } catch (const IOError& e) {
    std::string m = e.what();
    EXPECT_NE(m.find(path), std::string::npos) << "path " << path << " not in: " << m;
    EXPECT_NE(m.find(fault), std::string::npos) << "'" << fault << "' not in: " << m;
  }
}

}  // namespace sr::testing_data
