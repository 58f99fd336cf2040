// The fuzz targets (fuzz/) on every committed input: each input on which fuzzing found a crash
// (tests/fixtures/fuzz_regressions/<target>/) is refused with a clean IOError, and each seed of
// the corpora (fuzz/corpus/<target>/) is accepted or refused as listed here. Under
// scripts/sanitize.sh they run with AddressSanitizer and UndefinedBehaviorSanitizer too.
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
#include <string>
#include <vector>

#include "fuzz/fuzz_targets.h"

namespace sr {
namespace {

namespace fs = std::filesystem;

using Target = void (*)(const uint8_t*, size_t);

const std::map<std::string, Target>& targets() {
  static const std::map<std::string, Target> t = {{"idx", fuzz::idx_input},
                                                  {"cifar", fuzz::cifar_input},
                                                  {"image", fuzz::image_input},
                                                  {"label_map", fuzz::label_map_input}};
  return t;
}

std::vector<uint8_t> read_bytes(const fs::path& p) {
  std::ifstream f(p, std::ios::binary);
  return std::vector<uint8_t>(std::istreambuf_iterator<char>(f), {});
}

// Runs `file` through its target: "" when accepted, else the IOError's message. Any other
// exception fails the test.
std::string outcome(const std::string& target, const fs::path& file) {
  std::vector<uint8_t> b = read_bytes(file);
  try {
    targets().at(target)(b.data(), b.size());
    return "";
  } catch (const IOError& e) {
    return e.what();
  } catch (const std::exception& e) {
    ADD_FAILURE() << file << ": not an IOError: " << e.what();
    return "?";
  }
}

struct Expected {
  std::string target, file;
  std::string fault;  // "" = accepted
};

// Each file of a directory of `target` must be listed in `expected`, with its outcome.
void check_dir(const fs::path& dir, const std::vector<Expected>& expected) {
  size_t seen = 0;
  for (const auto& entry : targets()) {
    const std::string& target = entry.first;
    if (!fs::is_directory(dir / target)) continue;
    for (const auto& e : fs::directory_iterator(dir / target)) {
      std::string name = e.path().filename().string();
      auto it = std::find_if(expected.begin(), expected.end(), [&](const Expected& x) {
        return x.target == target && x.file == name;
      });
      if (it == expected.end()) {
        ADD_FAILURE() << e.path() << " has no expected outcome here";
        continue;
      }
      ++seen;
      std::string got = outcome(target, e.path());
      if (it->fault.empty()) {
        EXPECT_EQ(got, "") << e.path() << " should be accepted";
      } else {
        EXPECT_NE(got.find(it->fault), std::string::npos)
            << e.path() << ": expected '" << it->fault << "', got '" << got << "'";
      }
    }
  }
  EXPECT_EQ(seen, expected.size()) << "files missing under " << dir;
}

TEST(FuzzRegressions, EveryCrashInputIsRefusedCleanly) {
  check_dir(
      fs::path(SR_FIXTURE_DIR) / "fuzz_regressions",
      {
          // The header claimed 7 GiB of pixels: allocated before reading (now read as the
          // bytes arrive).
          {"idx", "header_claims_7_gib",
           "images: truncated: the data needs 7247757312 bytes, only 36 present"},
          // stb_image 2.27 wrote past its Huffman tables (data/stb_image_fixes.patch, 2).
          {"image", "jpeg_dht_over_256_codes", "image.png: undecodable image (Corrupt JPEG)"},
          {"label_map", "jpeg_dht_over_256_codes_in_header", "labelIds.png: undecodable image"},
          // stb_image 2.27 shifted by 34 bits after a marker inside a block (patch, 1).
          {"image", "jpeg_marker_inside_block", "image.png: undecodable image (Corrupt JPEG)"},
          // stb_image 2.27 allocated 2 GiB for an IDAT chunk the file did not hold (patch, 3).
          {"label_map", "png_idat_longer_than_file",
           "labelIds.png: undecodable image (Corrupt PNG)"},
          // stb_image 2.27 passed a null buffer to memcpy for an empty first IDAT (patch, 4).
          {"label_map", "png_empty_first_idat",
           "labelIds.png: undecodable image (PNG not supported: unknown PNG chunk type)"},
          // 780 bytes claiming 2832 x 48129 pixels: decoded from padding for 81 s (now
          // refused from the header, data/image_decode.h).
          {"image", "jpeg_claims_136_megapixels",
           "image.png: image of 2832x48129 pixels is larger than the 32 megapixels accepted"},
      });
}

TEST(FuzzCorpus, EverySeedIsAcceptedOrRefusedAsItsNameSays) {
  check_dir(
      fs::path(SR_FUZZ_CORPUS_DIR),
      {
          {"idx", "plain_pair", ""},
          {"idx", "gzip_pair", ""},
          {"idx", "gzip_images_plain_labels", ""},
          {"idx", "one_image_28x28", ""},
          {"idx", "wrong_magic", "images: wrong magic number 00000801"},
          {"idx", "truncated_images", "images: truncated: the data needs 36 bytes, only 31"},
          {"idx", "extra_byte", "images: extra bytes after the 3 items"},
          {"idx", "label_out_of_range", "labels: label 10 of item 1 is out of range [0, 10)"},
          {"idx", "count_mismatch", "labels: count mismatch: 2 labels but images has 3"},
          {"idx", "gzip_truncated", "images: truncated"},
          {"cifar", "cifar10_2_records", ""},
          {"cifar", "cifar100_fine_2_records", ""},
          {"cifar", "cifar100_coarse_1_record", ""},
          {"cifar", "cifar10_truncated", "records.bin: truncated: 3173 bytes"},
          {"cifar", "cifar10_label_out_of_range", "records.bin: label 10 of record 0"},
          {"image", "png_gray_to_1", ""},
          {"image", "png_gray_to_3", ""},
          {"image", "png_rgb_same_size", ""},
          {"image", "png16_gray", ""},
          {"image", "jpeg_rgb", ""},
          {"image", "png_rgba_refused", "wrong channel count: the image has 4 channel(s)"},
          {"image", "png_gray_alpha_refused", "wrong channel count: the image has 2 channel(s)"},
          {"image", "jpeg_rgb_refused_for_gray", "wrong channel count: the image has 3"},
          {"image", "bmp_refused", "undecodable image"},
          {"image", "tga_refused", "undecodable image"},
          {"image", "hdr_refused", "undecodable image"},
          {"image", "png_truncated", "undecodable image (Corrupt PNG)"},
          {"image", "jpeg_truncated_scan", "undecodable image (Corrupt JPEG)"},
          {"label_map", "labelids_png", ""},
          {"label_map", "labelids_png_upscaled", ""},
          {"label_map", "rgb_refused", "wrong channel count: a labelIds map has 1 channel"},
          {"label_map", "jpeg_rgb_refused", "wrong channel count: a labelIds map has 1 channel"},
          {"label_map", "png16_refused", "wrong bit depth"},
          {"label_map", "labelids_truncated", "undecodable image"},
      });
}

}  // namespace
}  // namespace sr
