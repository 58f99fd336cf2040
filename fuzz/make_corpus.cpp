// Writes the fuzz targets' seed corpora (fuzz/corpus/<target>/): small valid files of every
// format each parser reads and slightly broken ones (wrong magic, truncated, a label out of
// range, a channel count or bit depth the loaders refuse), each behind the target's input
// prefix (fuzz_targets.h). Deterministic: `make_corpus <dir>` rewrites the same bytes.
//
// Usage: make_corpus fuzz/corpus      (scripts/fuzz.sh --make-corpus runs it)
#include <stb/stb_image_write.h>  // declarations; data/stb_impl.cpp holds the code
#include <zlib.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <functional>
#include <string>
#include <vector>

namespace {

namespace fs = std::filesystem;
using Bytes = std::vector<uint8_t>;

void put_be32(Bytes& b, uint32_t v) {
  for (int s = 24; s >= 0; s -= 8) b.push_back(uint8_t(v >> s));
}

Bytes idx_images(int n, int h, int w) {
  Bytes b;
  put_be32(b, 0x803), put_be32(b, uint32_t(n)), put_be32(b, uint32_t(h)), put_be32(b, uint32_t(w));
  for (int k = 0; k < n * h * w; ++k) b.push_back(uint8_t(k * 37 + 11));
  return b;
}

Bytes idx_labels(const Bytes& labels) {
  Bytes b;
  put_be32(b, 0x801), put_be32(b, uint32_t(labels.size()));
  b.insert(b.end(), labels.begin(), labels.end());
  return b;
}

// A gzip stream (what gzip and gzwrite produce) of `raw`.
Bytes gzip(const Bytes& raw) {
  z_stream z{};
  if (deflateInit2(&z, 9, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK) return {};
  Bytes out(deflateBound(&z, uLong(raw.size())) + 32);
  z.next_in = const_cast<Bytef*>(raw.data());
  z.avail_in = uInt(raw.size());
  z.next_out = out.data();
  z.avail_out = uInt(out.size());
  deflate(&z, Z_FINISH);
  out.resize(z.total_out);
  deflateEnd(&z);
  return out;
}

// The IDX target's input: the images file's length (2 bytes, little-endian), both files.
Bytes idx_pair(const Bytes& images, const Bytes& labels) {
  Bytes b = {uint8_t(images.size() & 255), uint8_t(images.size() >> 8)};
  b.insert(b.end(), images.begin(), images.end());
  b.insert(b.end(), labels.begin(), labels.end());
  return b;
}

Bytes cifar_records(int n, int label_bytes) {
  Bytes b;
  for (int r = 0; r < n; ++r) {
    for (int k = 0; k < label_bytes; ++k) b.push_back(uint8_t((r * 7 + k * 3) % 10));
    for (int p = 0; p < 3 * 32 * 32; ++p) b.push_back(uint8_t(p * 13 + r * 5));
  }
  return b;
}

void append(void* ctx, void* data, int size) {
  auto* out = static_cast<Bytes*>(ctx);
  out->insert(out->end(), static_cast<uint8_t*>(data), static_cast<uint8_t*>(data) + size);
}

Bytes pattern(int w, int h, int c) {
  Bytes px;
  for (int y = 0; y < h; ++y)
    for (int x = 0; x < w; ++x)
      for (int k = 0; k < c; ++k) px.push_back(uint8_t(x * 29 + y * 17 + k * 80));
  return px;
}

Bytes png(int w, int h, int c, const Bytes& px) {
  Bytes out;
  stbi_write_png_to_func(append, &out, w, h, c, px.data(), w * c);
  return out;
}
Bytes jpg(int w, int h, int c) {
  Bytes out, px = pattern(w, h, c);
  stbi_write_jpg_to_func(append, &out, w, h, c, px.data(), 90);
  return out;
}
Bytes bmp(int w, int h, int c) {
  Bytes out, px = pattern(w, h, c);
  stbi_write_bmp_to_func(append, &out, w, h, c, px.data());
  return out;
}
Bytes tga(int w, int h, int c) {
  Bytes out, px = pattern(w, h, c);
  stbi_write_tga_to_func(append, &out, w, h, c, px.data());
  return out;
}
Bytes hdr(int w, int h) {
  Bytes out;
  std::vector<float> px;
  for (int k = 0; k < w * h * 3; ++k) px.push_back(float(k % 7) * 0.3f);
  stbi_write_hdr_to_func(append, &out, w, h, 3, px.data());
  return out;
}

// A 16-bit gray PNG (stb_image_write writes 8-bit only): signature, IHDR, IDAT, IEND.
Bytes png16_gray(int w, int h) {
  auto chunk = [](Bytes& out, const char* type, const Bytes& data) {
    put_be32(out, uint32_t(data.size()));
    Bytes body(type, type + 4);
    body.insert(body.end(), data.begin(), data.end());
    out.insert(out.end(), body.begin(), body.end());
    put_be32(out, uint32_t(crc32(0, body.data(), unsigned(body.size()))));
  };
  Bytes png = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'}, ihdr;
  put_be32(ihdr, uint32_t(w)), put_be32(ihdr, uint32_t(h));
  ihdr.insert(ihdr.end(), {16, 0, 0, 0, 0});  // 16-bit, gray, deflate, no filter, no interlace
  chunk(png, "IHDR", ihdr);
  Bytes raw;
  for (int r = 0; r < h; ++r) {
    raw.push_back(0);
    for (int c = 0; c < 2 * w; ++c) raw.push_back(uint8_t(r * 9 + c));
  }
  uLongf n = compressBound(uLong(raw.size()));
  Bytes z(n);
  compress(z.data(), &n, raw.data(), uLong(raw.size()));
  z.resize(n);
  chunk(png, "IDAT", z);
  chunk(png, "IEND", {});
  return png;
}

Bytes cut(Bytes b, size_t keep) {
  b.resize(std::min(b.size(), keep));
  return b;
}
Bytes prefixed(Bytes prefix, const Bytes& file) {
  prefix.insert(prefix.end(), file.begin(), file.end());
  return prefix;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: make_corpus <corpus dir>\n");
    return 2;
  }
  fs::path root = argv[1];
  size_t total = 0, files = 0;
  auto write = [&](const std::string& target, const std::string& name, const Bytes& b) {
    fs::create_directories(root / target);
    std::ofstream f(root / target / name, std::ios::binary);
    f.write(reinterpret_cast<const char*>(b.data()), std::streamsize(b.size()));
    total += b.size(), ++files;
  };

  // IDX: 3 images of 4 x 3 with labels.
  Bytes img = idx_images(3, 4, 3), lab = idx_labels({1, 7, 9});
  write("idx", "plain_pair", idx_pair(img, lab));
  write("idx", "gzip_pair", idx_pair(gzip(img), gzip(lab)));
  write("idx", "gzip_images_plain_labels", idx_pair(gzip(img), lab));
  write("idx", "one_image_28x28", idx_pair(idx_images(1, 28, 28), idx_labels({4})));
  Bytes bad = img;
  bad[3] = 0x01;
  write("idx", "wrong_magic", idx_pair(bad, lab));
  write("idx", "truncated_images", idx_pair(cut(img, img.size() - 5), lab));
  bad = img;
  bad.push_back(0);
  write("idx", "extra_byte", idx_pair(bad, lab));
  write("idx", "label_out_of_range", idx_pair(img, idx_labels({1, 10, 2})));
  write("idx", "count_mismatch", idx_pair(img, idx_labels({1, 2})));
  Bytes gz = gzip(img);
  write("idx", "gzip_truncated", idx_pair(cut(gz, gz.size() / 2), gzip(lab)));

  // CIFAR: byte 0 picks the format.
  write("cifar", "cifar10_2_records", prefixed({0}, cifar_records(2, 1)));
  write("cifar", "cifar100_fine_2_records", prefixed({1}, cifar_records(2, 2)));
  write("cifar", "cifar100_coarse_1_record", prefixed({2}, cifar_records(1, 2)));
  write("cifar", "cifar10_truncated", prefixed({0}, cut(cifar_records(2, 1), 3073 + 100)));
  Bytes rec = cifar_records(1, 1);
  rec[0] = 10;
  write("cifar", "cifar10_label_out_of_range", prefixed({0}, rec));

  // Images: byte 0 bit 0 = 3 channels, bytes 1-2 the output size.
  write("image", "png_gray_to_1", prefixed({0, 6, 4}, png(7, 5, 1, pattern(7, 5, 1))));
  write("image", "png_gray_to_3", prefixed({1, 9, 9}, png(7, 5, 1, pattern(7, 5, 1))));
  write("image", "png_rgb_same_size", prefixed({1, 8, 5}, png(9, 6, 3, pattern(9, 6, 3))));
  write("image", "png_rgba_refused", prefixed({1, 3, 3}, png(4, 4, 4, pattern(4, 4, 4))));
  write("image", "png_gray_alpha_refused", prefixed({0, 3, 3}, png(4, 4, 2, pattern(4, 4, 2))));
  write("image", "png16_gray", prefixed({0, 5, 2}, png16_gray(6, 3)));
  // stb_image_write writes every JPEG as YCbCr, gray ones too: 3 channels.
  write("image", "jpeg_rgb_refused_for_gray", prefixed({0, 4, 4}, jpg(12, 10, 1)));
  write("image", "jpeg_rgb", prefixed({1, 15, 7}, jpg(16, 8, 3)));
  // Formats stb_image could read but the data sets do not (compiled out: refused).
  write("image", "bmp_refused", prefixed({1, 2, 2}, bmp(5, 3, 3)));
  write("image", "tga_refused", prefixed({0, 2, 6}, tga(5, 3, 1)));
  write("image", "hdr_refused", prefixed({1, 3, 2}, hdr(4, 2)));
  Bytes p = png(9, 6, 3, pattern(9, 6, 3)), j = jpg(16, 8, 3);
  write("image", "png_truncated", prefixed({1, 4, 4}, cut(p, p.size() - 20)));
  write("image", "jpeg_truncated_scan", prefixed({1, 4, 4}, cut(j, j.size() - 100)));

  // Label maps: bytes 0-1 the output size. labelIds 0..33 and 255.
  Bytes ids;
  for (int k = 0; k < 16 * 8; ++k) ids.push_back(k % 37 < 34 ? uint8_t(k % 37) : 255);
  write("label_map", "labelids_png", prefixed({15, 7}, png(16, 8, 1, ids)));
  write("label_map", "labelids_png_upscaled", prefixed({40, 20}, png(16, 8, 1, ids)));
  write("label_map", "rgb_refused", prefixed({3, 3}, png(4, 4, 3, pattern(4, 4, 3))));
  write("label_map", "png16_refused", prefixed({3, 3}, png16_gray(4, 4)));
  Bytes lp = png(16, 8, 1, ids);
  write("label_map", "labelids_truncated", prefixed({5, 5}, cut(lp, lp.size() - 12)));
  write("label_map", "jpeg_rgb_refused", prefixed({6, 2}, jpg(8, 8, 1)));

  std::printf("make_corpus: %zu files, %zu bytes under %s\n", files, total, root.string().c_str());
  return 0;
}
