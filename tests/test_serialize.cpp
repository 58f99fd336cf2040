// safetensors and .npy files: round trips, the exact bytes written, hand-assembled inputs, and an
// IOError naming the file for every kind of corrupt input.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <functional>
#include <sstream>

#include "engine/serialize.h"
#include "tests/gradcheck.h"

namespace sr {
namespace {

namespace fs = std::filesystem;

// Each test works in its own fresh temporary directory.
class Serialize : public ::testing::Test {
 protected:
  void SetUp() override {
    const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
    dir_ = fs::temp_directory_path() /
           fmt::format("sr_serialize_{}_{}_{}", getpid(), info->test_suite_name(), info->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }

  std::string path(const std::string& name) const { return (dir_ / name).string(); }

  fs::path dir_;
};
using SerializeBadInput = Serialize;

template <class T>
std::string bytes_of(const std::vector<T>& v) {
  return std::string(reinterpret_cast<const char*>(v.data()), v.size() * sizeof(T));
}
std::string u64_bytes(uint64_t n) {
  return bytes_of(std::vector<uint64_t>{n});
}

void write_file(const std::string& path, const std::string& bytes) {
  std::ofstream(path, std::ios::binary) << bytes;
}
std::string read_file(const std::string& path) {
  std::ostringstream s;
  s << std::ifstream(path, std::ios::binary).rdbuf();
  return s.str();
}

// A safetensors file with the given header text and data section.
std::string safetensors_bytes(const std::string& header, const std::string& data = "") {
  return u64_bytes(header.size()) + header + data;
}

// A .npy file with the given version, header text (padded here) and data.
std::string npy_bytes(int major, std::string header, const std::string& data) {
  const size_t prefix = major == 1 ? 10 : 12;
  header.append(63 - (prefix + header.size()) % 64, ' ');
  header += '\n';
  const uint32_t len = uint32_t(header.size());
  return std::string("\x93NUMPY") + char(major) + '\0' +
         bytes_of(std::vector<uint32_t>{len}).substr(0, prefix - 8) + header + data;
}

// Expects `f` to throw IOError whose message names `path` and contains `what`.
void expect_io_error(const std::function<void()>& f, const std::string& path,
                     const std::string& what) {
  try {
    f();
    ADD_FAILURE() << "no IOError for " << path;
  } catch (const IOError& e) {
    const std::string msg = e.what();
    EXPECT_NE(msg.find(path), std::string::npos) << msg;
    EXPECT_NE(msg.find(what), std::string::npos) << msg;
  }
}
void expect_bad_safetensors(const std::string& path, const std::string& bytes,
                            const std::string& what) {
  write_file(path, bytes);
  expect_io_error([&] { load_safetensors(path); }, path, what);
}
void expect_bad_npy(const std::string& path, const std::string& bytes, const std::string& what) {
  write_file(path, bytes);
  expect_io_error([&] { load_npy(path); }, path, what);
}

template <class T>
void expect_same(const Tensor& got, const Tensor& want) {
  EXPECT_EQ(got.dtype(), want.dtype());
  EXPECT_EQ(got.shape(), want.shape());
  EXPECT_EQ(got.device(), Device::cpu);
  EXPECT_TRUE(got.is_contiguous());
  EXPECT_EQ(got.to_vector_as<T>(), want.to_vector_as<T>());
}

TEST_F(Serialize, SafetensorsRoundTrip) {
  Tensor nchw = test::random_input({2, 3, 4, 5}, 1);
  const NamedTensors tensors = {
      {"weight", test::random_input({3, 4}, 2)},
      {"layer1.0.index", Tensor::from_vector(std::vector<int32_t>{-3, 0, 7, 1 << 30}, {4})},
      {"big", Tensor::from_vector(std::vector<int64_t>{int64_t(1) << 40, -1}, {2, 1})},
      {"bn.num_batches_tracked", Tensor::from_vector(std::vector<int64_t>{12}, {})},
      {"activations", nchw.contiguous(MemoryFormat::channels_last)},
      {"empty", Tensor::zeros({0, 3})},
      {"strided", nchw.narrow(3, 1, 2)},
  };
  const std::string p = path("model.safetensors");
  save_safetensors(p, tensors);
  save_safetensors(p, tensors);  // overwrites
  EXPECT_FALSE(fs::exists(p + ".tmp"));

  SafetensorsFile file = load_safetensors(p);
  EXPECT_TRUE(file.metadata.empty());
  ASSERT_EQ(file.tensors.size(), tensors.size());
  for (size_t i = 0; i < tensors.size(); ++i) {
    SCOPED_TRACE(tensors[i].first);
    EXPECT_EQ(file.tensors[i].first, tensors[i].first);
    switch (tensors[i].second.dtype()) {
      case DType::f32:
        expect_same<float>(file.tensors[i].second, tensors[i].second);
        break;
      case DType::i32:
        expect_same<int32_t>(file.tensors[i].second, tensors[i].second);
        break;
      case DType::i64:
        expect_same<int64_t>(file.tensors[i].second, tensors[i].second);
        break;
    }
  }
  EXPECT_EQ(file.tensors[3].second.dim(), 0);
}

TEST_F(Serialize, SafetensorsMetadataRoundTrip) {
  const std::map<std::string, std::string> metadata = {
      {"format", "pt"}, {"epoch", "3"}, {"note", "quotes \" and\nnewlines, ünïcödé"}};
  const std::string p = path("meta.safetensors");
  save_safetensors(p, {{"x", Tensor::ones({2})}}, metadata);
  SafetensorsFile file = load_safetensors(p);
  EXPECT_EQ(file.metadata, metadata);
  ASSERT_EQ(file.tensors.size(), 1u);
  EXPECT_EQ(file.tensors[0].second.to_vector(), (std::vector<float>{1, 1}));
}

TEST_F(Serialize, SafetensorsExactBytes) {
  const std::string p = path("tiny.safetensors");
  save_safetensors(p,
                   {{"a", Tensor::from_vector(std::vector<float>{1.5f, -2.f}, {2})},
                    {"b", Tensor::from_vector(std::vector<int64_t>{7}, {})}},
                   {{"k", "v"}});
  // 132 bytes of JSON padded with spaces to 136, a multiple of 8.
  const std::string header =
      R"({"__metadata__":{"k":"v"},"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},)"
      R"("b":{"dtype":"I64","shape":[],"data_offsets":[8,16]}}    )";
  ASSERT_EQ(header.size(), 136u);
  const std::string want = u64_bytes(136) + header + bytes_of(std::vector<float>{1.5f, -2.f}) +
                           bytes_of(std::vector<int64_t>{7});
  EXPECT_EQ(read_file(p), want);
}

TEST_F(Serialize, NpyRoundTrip) {
  Tensor nchw = test::random_input({2, 3, 4, 5}, 3);
  const std::vector<Tensor> arrays = {
      test::random_input({2, 3}, 4),
      nchw.contiguous(MemoryFormat::channels_last),
      nchw.narrow(1, 1, 2),
      Tensor::from_vector(std::vector<int32_t>{5, -6, 7}, {3}),
      Tensor::from_vector(std::vector<int64_t>{-9}, {}),
      Tensor::zeros({0}),
  };
  for (size_t i = 0; i < arrays.size(); ++i) {
    SCOPED_TRACE(arrays[i].str());
    const std::string p = path(fmt::format("a{}.npy", i));
    save_npy(p, arrays[i]);
    EXPECT_FALSE(fs::exists(p + ".tmp"));
    const std::string bytes = read_file(p);
    EXPECT_EQ(bytes.substr(0, 8), std::string("\x93NUMPY\x01\x00", 8));
    EXPECT_EQ((10 + uint8_t(bytes[8]) + 256 * uint8_t(bytes[9])) % 64, 0);  // aligned data
    Tensor back = load_npy(p);
    switch (arrays[i].dtype()) {
      case DType::f32:
        expect_same<float>(back, arrays[i]);
        break;
      case DType::i32:
        expect_same<int32_t>(back, arrays[i]);
        break;
      case DType::i64:
        expect_same<int64_t>(back, arrays[i]);
        break;
    }
  }
  EXPECT_NE(read_file(path("a0.npy"))
                .find("{'descr': '<f4', 'fortran_order': False, "
                      "'shape': (2, 3), }"),
            std::string::npos);
}

TEST_F(Serialize, NpyFallsBackToVersion2ForLongHeaders) {
  const std::string p = path("many_dims.npy");
  const Shape shape(30000, 1);  // a header of about 90 kB
  save_npy(p, Tensor::from_vector(std::vector<float>{4.f}, shape));
  EXPECT_EQ(read_file(p).substr(0, 8), std::string("\x93NUMPY\x02\x00", 8));
  Tensor back = load_npy(p);
  EXPECT_EQ(back.shape(), shape);
  EXPECT_EQ(back.to_vector(), (std::vector<float>{4.f}));
}

TEST_F(Serialize, NpyReadsHandAssembledVersion1) {
  const std::vector<float> values = {0.5f, -1.f, 2.f, 3.25f, -4.f, 1e-3f};
  const std::string p = path("hand.npy");
  write_file(p, npy_bytes(1, "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }",
                          bytes_of(values)));
  Tensor t = load_npy(p);
  EXPECT_EQ(t.dtype(), DType::f32);
  EXPECT_EQ(t.shape(), (Shape{2, 3}));
  EXPECT_EQ(t.to_vector(), values);
}

TEST_F(Serialize, NpyReadsFloat64AndUint8AndVersion2) {
  const std::string p = path("f8.npy");
  write_file(p, npy_bytes(2, "{'shape': (3,), 'fortran_order': False, 'descr': '<f8'}",
                          bytes_of(std::vector<double>{0.25, -1.5, 1e10})));
  Tensor f = load_npy(p);
  EXPECT_EQ(f.dtype(), DType::f32);
  EXPECT_EQ(f.to_vector(), (std::vector<float>{0.25f, -1.5f, 1e10f}));

  write_file(p, npy_bytes(1, "{\"descr\": \"|u1\", \"fortran_order\": False, \"shape\": (2, 2)}",
                          bytes_of(std::vector<uint8_t>{0, 1, 128, 255})));
  Tensor u = load_npy(p);
  EXPECT_EQ(u.dtype(), DType::i32);
  EXPECT_EQ(u.shape(), (Shape{2, 2}));
  EXPECT_EQ(u.to_vector_as<int32_t>(), (std::vector<int32_t>{0, 1, 128, 255}));
}

// ---- safetensors faults ----

TEST_F(SerializeBadInput, MissingFile) {
  const std::string p = path("absent.safetensors");
  expect_io_error([&] { load_safetensors(p); }, p, "No such file");
  expect_io_error([&] { load_npy(p); }, p, "No such file");
}

TEST_F(SerializeBadInput, ShorterThanHeaderLength) {
  expect_bad_safetensors(path("short.safetensors"), "\x05\0\0", "truncated");
}

TEST_F(SerializeBadInput, HeaderLongerThanFile) {
  expect_bad_safetensors(path("long.safetensors"), u64_bytes(1000) + "{}", "the header");
  expect_bad_safetensors(path("huge.safetensors"), u64_bytes(~uint64_t(0)) + "{}", "the header");
}

TEST_F(SerializeBadInput, HeaderNotJson) {
  expect_bad_safetensors(path("json.safetensors"), safetensors_bytes("{\"a\": "), "not valid JSON");
}

TEST_F(SerializeBadInput, HeaderNotObject) {
  expect_bad_safetensors(path("array.safetensors"), safetensors_bytes("[1, 2]"),
                         "not a JSON object");
  expect_bad_safetensors(path("entry.safetensors"), safetensors_bytes(R"({"a": 3})"),
                         "not a JSON object");
}

TEST_F(SerializeBadInput, EntryMissingField) {
  const std::string p = path("missing.safetensors");
  expect_bad_safetensors(p, safetensors_bytes(R"({"a": {"shape": [], "data_offsets": [0, 4]}})"),
                         "has no dtype");
  expect_bad_safetensors(p, safetensors_bytes(R"({"a": {"dtype": "F32", "data_offsets": [0, 4]}})"),
                         "has no shape");
  expect_bad_safetensors(p, safetensors_bytes(R"({"a": {"dtype": "F32", "shape": []}})"),
                         "has no data_offsets");
}

TEST_F(SerializeBadInput, UnknownDtype) {
  expect_bad_safetensors(
      path("u8.safetensors"),
      safetensors_bytes(R"({"a": {"dtype": "U8", "shape": [4], "data_offsets": [0, 4]}})", "abcd"),
      "unsupported dtype \"U8\" (F32, F16, BF16, F64, I32 and I64 are read)");
}

TEST_F(SerializeBadInput, NegativeShapeEntry) {
  expect_bad_safetensors(
      path("negative.safetensors"),
      safetensors_bytes(R"({"a": {"dtype": "F32", "shape": [-1], "data_offsets": [0, 4]}})",
                        "abcd"),
      "non-negative integers");
}

TEST_F(SerializeBadInput, NonIntegerShapeEntry) {
  const std::string p = path("fraction.safetensors");
  for (const char* shape : {"[1.5]", "[\"1\"]", "[[1]]", "3"})
    expect_bad_safetensors(p,
                           safetensors_bytes(fmt::format(R"({{"a": {{"dtype": "F32", "shape": {}, )"
                                                         R"("data_offsets": [0, 4]}}}})",
                                                         shape),
                                             "abcd"),
                           "non-negative integers");
}

TEST_F(SerializeBadInput, HugeShapeIsRejectedBeforeAllocating) {
  expect_bad_safetensors(
      path("huge.safetensors"),
      safetensors_bytes(
          R"({"a": {"dtype": "F32", "shape": [1099511627776, 1099511627776], "data_offsets": [0, 4]}})",
          "abcd"),
      "too large");
}

TEST_F(SerializeBadInput, DataOffsetsInvalid) {
  const std::string p = path("offsets.safetensors");
  for (const char* offsets : {"[4, 0]", "[0]", "[-4, 0]", "[0, 4.0]", "{}"})
    expect_bad_safetensors(
        p,
        safetensors_bytes(fmt::format(R"({{"a": {{"dtype": "F32", "shape": [1], )"
                                      R"("data_offsets": {}}}}})",
                                      offsets),
                          "abcd"),
        "data_offsets");
}

TEST_F(SerializeBadInput, DataOffsetsOutOfRange) {
  expect_bad_safetensors(
      path("range.safetensors"),
      safetensors_bytes(R"({"a": {"dtype": "F32", "shape": [2], "data_offsets": [8, 16]}})",
                        std::string(8, 'x')),
      "tensor 'a' needs 8 bytes at offset");
}

TEST_F(SerializeBadInput, DataOffsetsOverlap) {
  expect_bad_safetensors(
      path("overlap.safetensors"),
      safetensors_bytes(R"({"a": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]},)"
                        R"( "b": {"dtype": "I32", "shape": [2], "data_offsets": [4, 12]}})",
                        std::string(12, 'x')),
      "overlap");
}

TEST_F(SerializeBadInput, DataOffsetsDoNotMatchShape) {
  expect_bad_safetensors(
      path("size.safetensors"),
      safetensors_bytes(R"({"a": {"dtype": "I64", "shape": [2, 3], "data_offsets": [0, 24]}})",
                        std::string(24, 'x')),
      "needs 48 bytes");
}

TEST_F(SerializeBadInput, TruncatedData) {
  const std::string p = path("cut.safetensors");
  save_safetensors(p, {{"w", Tensor::ones({4, 4})}});
  fs::resize_file(p, fs::file_size(p) - 4);
  expect_io_error([&] { load_safetensors(p); }, p, "truncated");
}

TEST_F(SerializeBadInput, DuplicateNames) {
  expect_bad_safetensors(
      path("twice.safetensors"),
      safetensors_bytes(R"({"a": {"dtype": "F32", "shape": [1], "data_offsets": [0, 4]},)"
                        R"( "a": {"dtype": "F32", "shape": [1], "data_offsets": [4, 8]}})",
                        std::string(8, 'x')),
      "'a' appears twice");
}

TEST_F(SerializeBadInput, MetadataNotStrings) {
  expect_bad_safetensors(path("meta.safetensors"),
                         safetensors_bytes(R"({"__metadata__": {"epoch": 3}})"), "not a string");
}

// ---- .npy faults ----

TEST_F(SerializeBadInput, NpyBadMagic) {
  expect_bad_npy(path("magic.npy"), "PK\x03\x04 this is a zip file", "bad magic");
  expect_bad_npy(path("tiny.npy"), "\x93N", "bad magic");
}

TEST_F(SerializeBadInput, NpyUnsupportedVersion) {
  std::string bytes = npy_bytes(2, "{'descr': '<f4', 'fortran_order': False, 'shape': (1,), }",
                                std::string(4, 'x'));
  bytes[6] = 3;
  expect_bad_npy(path("v3.npy"), bytes, "version 3.0");
}

TEST_F(SerializeBadInput, NpyUnparsableHeader) {
  const std::string p = path("header.npy");
  for (const char* header : {
           "{'descr': '<f4', 'fortran_order': False}",                    // no shape
           "{'descr': '<f4' 'fortran_order': False, 'shape': (1,)}",      // no comma
           "{'descr': '<f4', 'fortran_order': Maybe, 'shape': (1,)}",     // bad bool
           "{'descr': '<f4', 'fortran_order': False, 'shape': (1, -2)}",  // negative
           "{'descr': '<f4', 'fortran_order': False, 'shape': (99999999999999999999,)}",
           "{'descr': '<f4', 'fortran_order': False, 'shape': (1,), 'x': 1}",  // unknown key
           "{'descr': '<f4', 'fortran_order': False, 'shape': (1,)} trailing",
           "{'descr: '<f4', 'fortran_order': False, 'shape': (1,)}",
           "",
       })
    expect_bad_npy(p, npy_bytes(1, header, std::string(4, 'x')), "cannot parse");
  expect_bad_npy(p, npy_bytes(1, "{}", "").substr(0, 20), "the header");  // length > file
}

TEST_F(SerializeBadInput, NpyFortranOrder) {
  expect_bad_npy(path("fortran.npy"),
                 npy_bytes(1, "{'descr': '<f4', 'fortran_order': True, 'shape': (2, 2), }",
                           std::string(16, 'x')),
                 "Fortran");
}

TEST_F(SerializeBadInput, NpyUnsupportedDescr) {
  const std::string p = path("descr.npy");
  for (const char* descr : {">f4", "<f2", "<U3", "|b1"})
    expect_bad_npy(
        p,
        npy_bytes(1,
                  fmt::format("{{'descr': '{}', 'fortran_order': False, 'shape': (2,), }}", descr),
                  std::string(16, 'x')),
        "unsupported dtype");
}

TEST_F(SerializeBadInput, NpyDataShorterThanShape) {
  expect_bad_npy(path("short.npy"),
                 npy_bytes(1, "{'descr': '<i8', 'fortran_order': False, 'shape': (2, 3), }",
                           std::string(40, 'x')),
                 "truncated");
  expect_bad_npy(path("huge.npy"),
                 npy_bytes(1,
                           "{'descr': '<f4', 'fortran_order': False, "
                           "'shape': (1000000000, 1000000000), }",
                           std::string(40, 'x')),
                 "truncated");
}

TEST_F(SerializeBadInput, UnwritablePath) {
  const std::string p = path("no_such_dir/out.safetensors");
  expect_io_error(
      [&] {
        save_safetensors(p, {{"x", Tensor::ones({1})}});
      },
      p, "cannot open for writing");
  expect_io_error([&] { save_npy(p, Tensor::ones({1})); }, p, "cannot open for writing");
  EXPECT_FALSE(fs::exists(dir_ / "no_such_dir"));
}

}  // namespace
}  // namespace sr
