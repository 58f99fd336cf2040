// Reading and writing safetensors and .npy files (formats in serialize.h).
#include "engine/serialize.h"

#include "engine/atomic_file.h"

#include <unistd.h>

#include <algorithm>
#include <array>
#include <bit>
#include <cerrno>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <limits>
#include <set>
#include <string_view>

#include <fmt/ranges.h>
#include <nlohmann/json.hpp>

namespace sr {

static_assert(std::endian::native == std::endian::little, "the file formats are little-endian");

namespace {

using nlohmann::json;

// An element type of a file format (its name there: "F16" in safetensors, "<f4" in .npy) and
// the engine dtype it is read as. In each format's table the first entry of a dtype is the one
// written.
struct FileDType {
  std::string_view name;
  DType dtype;
  size_t itemsize;  // in the file
};

// The entry named `name`, or nullptr.
template <size_t N>
const FileDType* file_dtype_named(const std::array<FileDType, N>& table, std::string_view name) {
  for (const FileDType& t : table)
    if (t.name == name) return &t;
  return nullptr;
}

// The entry a tensor of `dtype` is written as (every engine dtype has one in both tables).
template <size_t N>
const FileDType& file_dtype_written(const std::array<FileDType, N>& table, DType dtype) {
  for (const FileDType& t : table)
    if (t.dtype == dtype) return t;
  throw ValueError("serialize: no file dtype for this tensor dtype");
}

// safetensors: PyTorch's half, bfloat16 and double weights are read as float32.
constexpr std::array<FileDType, 6> kSafetensorsDTypes = {{{"F32", DType::f32, 4},
                                                          {"I32", DType::i32, 4},
                                                          {"I64", DType::i64, 8},
                                                          {"F16", DType::f32, 2},
                                                          {"BF16", DType::f32, 2},
                                                          {"F64", DType::f32, 8}}};

// IEEE binary16 -> float32, exact (subnormals, infinities and NaN included).
float half_to_float(uint16_t h) {
  const uint32_t sign = uint32_t(h & 0x8000u) << 16, exp = (h >> 10) & 0x1fu, man = h & 0x3ffu;
  uint32_t bits;
  if (exp == 0x1f) {
    bits = sign | 0x7f800000u | (man << 13);  // inf, NaN
  } else if (exp != 0) {
    bits = sign | ((exp + 112) << 23) | (man << 13);  // normal: rebias 15 -> 127
  } else {
    return std::bit_cast<float>(sign) + (sign ? -1.f : 1.f) * std::ldexp(float(man), -24);
  }
  return std::bit_cast<float>(bits);
}

// bfloat16 is the upper half of a float32.
float bf16_to_float(uint16_t b) {
  return std::bit_cast<float>(uint32_t(b) << 16);
}

// .npy: doubles are read as float32 and bytes (images) as int32.
constexpr std::array<FileDType, 5> kNpyTypes = {{{"<f4", DType::f32, 4},
                                                 {"<i4", DType::i32, 4},
                                                 {"<i8", DType::i64, 8},
                                                 {"<f8", DType::f32, 8},
                                                 {"|u1", DType::i32, 1}}};

// A file being read, with range-checked reads at absolute offsets.
class Reader {
 public:
  explicit Reader(const std::string& path) : path_(path) {
    std::error_code ec;
    size_ = std::filesystem::file_size(path, ec);
    SR_CHECK_IO(!ec, "{}: cannot read: {}", path, ec.message());
    f_.open(path, std::ios::binary);
    SR_CHECK_IO(f_.is_open(), "{}: cannot open for reading: {}", path, std::strerror(errno));
  }

  uint64_t size() const { return size_; }

  // Throws unless bytes [offset, offset + n), which `what` needs, lie inside the file. Callers
  // check before allocating a buffer whose size comes from the file.
  void require(uint64_t offset, uint64_t n, std::string_view what) const {
    SR_CHECK_IO(offset <= size_ && n <= size_ - offset,
                "{}: file is truncated: {} needs {} bytes at offset {} but the file has {} bytes",
                path_, what, n, offset, size_);
  }

  void read(uint64_t offset, uint64_t n, void* dst, std::string_view what) {
    require(offset, n, what);
    if (n == 0) return;
    f_.seekg(std::streamoff(offset));
    f_.read(static_cast<char*>(dst), std::streamsize(n));
    SR_CHECK_IO(f_.good(), "{}: read error in {}", path_, what);
  }

 private:
  std::string path_;
  std::ifstream f_;
  uint64_t size_ = 0;
};

// The contiguous CPU tensor whose bytes are written for `t`.
Tensor host_contiguous(const Tensor& t) {
  return t.detach().to(Device::cpu).contiguous();
}

// Number of elements of a shape read from a file; throws when numel * 8 bytes would overflow.
int64_t checked_numel(const Shape& s, const std::string& path) {
  constexpr int64_t kMax = std::numeric_limits<int64_t>::max() / 8;
  int64_t n = 1;
  for (int64_t d : s) {
    SR_CHECK_IO(d == 0 || n <= kMax / d, "{}: shape {} is too large", path, shape_str(s));
    n *= d;
  }
  return n;
}

// ---- safetensors ----

struct SafetensorsEntry {
  std::string name;
  std::string_view file_dtype;  // "F16" for a half tensor read as float32, say
  DType dtype;
  Shape shape;
  uint64_t begin, end;  // in the data section
};

SafetensorsEntry parse_entry(const std::string& path, const std::string& name, const json& e,
                             const Reader& in, uint64_t data_start) {
  SR_CHECK_IO(e.is_object(), "{}: entry '{}' is not a JSON object", path, name);
  for (const char* key : {"dtype", "shape", "data_offsets"})
    SR_CHECK_IO(e.contains(key), "{}: tensor '{}' has no {}", path, name, key);
  SafetensorsEntry out{name, "F32", DType::f32, {}, 0, 0};

  const json& dt = e["dtype"];
  const std::string dt_name = dt.is_string() ? dt.get<std::string>() : "";
  const FileDType* it = file_dtype_named(kSafetensorsDTypes, dt_name);
  SR_CHECK_IO(it != nullptr,
              "{}: tensor '{}' has unsupported dtype {} (F32, F16, BF16, F64, I32 and I64 are "
              "read)",
              path, name, dt.dump());
  out.file_dtype = it->name;
  out.dtype = it->dtype;
  const size_t itemsize = it->itemsize;

  const json& shape = e["shape"];
  auto natural = [](const json& v) { return v.is_number_integer() && v.get<int64_t>() >= 0; };
  SR_CHECK_IO(shape.is_array() && std::all_of(shape.begin(), shape.end(), natural),
              "{}: tensor '{}' has shape {}: not a list of non-negative integers", path, name,
              shape.dump());
  for (const json& d : shape) out.shape.push_back(d.get<int64_t>());

  const json& offs = e["data_offsets"];
  SR_CHECK_IO(offs.is_array() && offs.size() == 2 && natural(offs[0]) && natural(offs[1]) &&
                  offs[0].get<int64_t>() <= offs[1].get<int64_t>(),
              "{}: tensor '{}' has data_offsets {}: not [begin, end] with 0 <= begin <= end", path,
              name, offs.dump());
  out.begin = offs[0].get<uint64_t>();
  out.end = offs[1].get<uint64_t>();
  const uint64_t nbytes = uint64_t(checked_numel(out.shape, path)) * itemsize;
  SR_CHECK_IO(out.end - out.begin == nbytes,
              "{}: tensor '{}' ({} {}) needs {} bytes but data_offsets [{}, {}] span {}", path,
              name, out.file_dtype, shape_str(out.shape), nbytes, out.begin, out.end,
              out.end - out.begin);
  in.require(data_start + out.begin, nbytes, fmt::format("tensor '{}'", name));
  return out;
}

// ---- .npy ----

struct NpyHeader {
  std::string descr;
  bool fortran_order = false;
  Shape shape;
};

// Parses the header of a .npy file, a Python dict literal such as
// {'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }
class NpyHeaderParser {
 public:
  NpyHeaderParser(std::string_view text, const std::string& path) : s_(text), path_(path) {}

  NpyHeader parse() {
    NpyHeader h;
    std::set<std::string> keys;
    expect('{');
    while (!eat('}')) {
      std::string key = quoted();
      expect(':');
      if (key == "descr") {
        h.descr = quoted();
      } else if (key == "fortran_order") {
        h.fortran_order = boolean();
      } else if (key == "shape") {
        h.shape = tuple();
      } else {
        fail();
      }
      keys.insert(key);
      if (!eat(',')) {
        expect('}');
        break;
      }
    }
    skip_space();
    if (keys.size() != 3 || i_ != s_.size()) fail();
    return h;
  }

 private:
  [[noreturn]] void fail() const {
    throw IOError(fmt::format("{}: cannot parse the .npy header \"{}\"", path_,
                              s_.substr(0, s_.find_last_not_of(" \n") + 1)));
  }
  void skip_space() {
    while (i_ < s_.size() && (s_[i_] == ' ' || s_[i_] == '\n')) ++i_;
  }
  bool eat(char c) {
    skip_space();
    if (i_ == s_.size() || s_[i_] != c) return false;
    ++i_;
    return true;
  }
  void expect(char c) {
    if (!eat(c)) fail();
  }
  std::string quoted() {
    skip_space();
    if (i_ == s_.size() || (s_[i_] != '\'' && s_[i_] != '"')) fail();
    const size_t end = s_.find(s_[i_], i_ + 1);
    if (end == std::string_view::npos) fail();
    std::string out(s_.substr(i_ + 1, end - i_ - 1));
    i_ = end + 1;
    return out;
  }
  bool boolean() {
    skip_space();
    for (bool b : {false, true}) {
      std::string_view word = b ? "True" : "False";
      if (s_.substr(i_).starts_with(word)) {
        i_ += word.size();
        return b;
      }
    }
    fail();
  }
  Shape tuple() {
    expect('(');
    Shape shape;
    while (!eat(')')) {
      int64_t d = -1;
      auto [end, ec] = std::from_chars(s_.data() + i_, s_.data() + s_.size(), d);
      if (ec != std::errc() || d < 0) fail();
      i_ = size_t(end - s_.data());
      shape.push_back(d);
      if (!eat(',')) {
        expect(')');
        break;
      }
    }
    return shape;
  }

  std::string_view s_;
  const std::string& path_;
  size_t i_ = 0;
};

// Reads n elements of type From at `offset` and stores them converted to To.
template <class From, class To>
void read_converted(Reader& in, uint64_t offset, int64_t n, To* dst,
                    std::string_view what = "the array data") {
  std::vector<From> buf(static_cast<size_t>(n));
  in.read(offset, buf.size() * sizeof(From), buf.data(), what);
  std::copy(buf.begin(), buf.end(), dst);
}

}  // namespace

void save_safetensors(const std::string& path, const NamedTensors& tensors,
                      const std::map<std::string, std::string>& metadata) {
  nlohmann::ordered_json header = nlohmann::ordered_json::object();
  if (!metadata.empty()) header["__metadata__"] = metadata;
  uint64_t offset = 0;
  for (const auto& [name, t] : tensors) {
    SR_CHECK_VALUE(t.defined(), "save_safetensors {}: tensor '{}' is undefined", path, name);
    SR_CHECK_VALUE(name != "__metadata__" && !header.contains(name),
                   "save_safetensors {}: tensor name '{}' is reserved or repeated", path, name);
    const FileDType& it = file_dtype_written(kSafetensorsDTypes, t.dtype());
    header[name] = {{"dtype", std::string(it.name)},
                    {"shape", t.shape()},
                    {"data_offsets", {offset, offset + t.nbytes()}}};
    offset += t.nbytes();
  }
  std::string text = header.dump();
  text.append((8 - text.size() % 8) % 8, ' ');  // keeps the data 8-byte aligned
  const uint64_t n = text.size();

  AtomicWriter out(path);
  out.write(&n, 8);
  out.write(text.data(), n);
  for (const auto& [name, t] : tensors) {
    Tensor c = host_contiguous(t);
    out.write(c.raw_data(), c.nbytes());
  }
  out.commit();
}

SafetensorsFile load_safetensors(const std::string& path) {
  Reader in(path);
  uint64_t n = 0;
  in.read(0, 8, &n, "the header length");
  // torch.save writes a zip archive, or (legacy) a protocol-2 pickle of its magic number; read
  // as a header length either would exceed any real file.
  const auto* magic = reinterpret_cast<const char*>(&n);
  SR_CHECK_IO(
      std::memcmp(magic, "PK\x03\x04", 4) != 0 && std::memcmp(magic, "\x80\x02\x8a\x0a", 4) != 0,
      "{}: a PyTorch pickle (torch.save), not safetensors; convert it with: python3 -c "
      "\"import torch, safetensors.torch as st; st.save_file(torch.load('{}', "
      "map_location='cpu'), '{}.safetensors')\"",
      path, path, path);
  in.require(8, n, "the header");
  std::string text(n, '\0');
  in.read(8, n, text.data(), "the header");
  const uint64_t data_start = 8 + n;

  // nlohmann::json keeps the last of repeated keys; the callback sees them all.
  std::set<std::string> names;
  std::string repeated;
  auto on_event = [&](int depth, json::parse_event_t event, json& parsed) {
    if (depth == 1 && event == json::parse_event_t::key &&
        !names.insert(parsed.get<std::string>()).second)
      repeated = parsed.get<std::string>();
    return true;
  };
  json header;
  try {
    header = json::parse(text, on_event);
  } catch (const json::parse_error& e) {
    throw IOError(fmt::format("{}: header is not valid JSON: {}", path, e.what()));
  }
  SR_CHECK_IO(header.is_object(), "{}: header is not a JSON object", path);
  SR_CHECK_IO(repeated.empty(), "{}: name '{}' appears twice in the header", path, repeated);

  SafetensorsFile file;
  std::vector<SafetensorsEntry> entries;
  for (const auto& [name, e] : header.items()) {
    if (name != "__metadata__") {
      entries.push_back(parse_entry(path, name, e, in, data_start));
      continue;
    }
    SR_CHECK_IO(e.is_object(), "{}: __metadata__ is not a JSON object", path);
    for (const auto& [key, value] : e.items()) {
      SR_CHECK_IO(value.is_string(), "{}: metadata '{}' is not a string", path, key);
      file.metadata[key] = value.get<std::string>();
    }
  }

  std::stable_sort(entries.begin(), entries.end(), [](const auto& a, const auto& b) {
    return std::pair(a.begin, a.end) < std::pair(b.begin, b.end);
  });
  for (size_t i = 1; i < entries.size(); ++i)
    SR_CHECK_IO(entries[i].begin >= entries[i - 1].end,
                "{}: tensors '{}' and '{}' overlap in the data section", path, entries[i - 1].name,
                entries[i].name);
  for (const SafetensorsEntry& e : entries) {
    Tensor t = Tensor::empty(e.shape, e.dtype);
    const std::string what = fmt::format("tensor '{}'", e.name);
    if (e.file_dtype == "F16" || e.file_dtype == "BF16") {
      std::vector<uint16_t> raw(size_t(t.numel()));
      in.read(data_start + e.begin, e.end - e.begin, raw.data(), what);
      const bool half = e.file_dtype == "F16";
      float* dst = t.data<float>();
      for (size_t i = 0; i < raw.size(); ++i)
        dst[i] = half ? half_to_float(raw[i]) : bf16_to_float(raw[i]);
    } else if (e.file_dtype == "F64") {
      read_converted<double>(in, data_start + e.begin, t.numel(), t.data<float>(), what);
    } else {
      in.read(data_start + e.begin, e.end - e.begin, t.raw_data(), what);
    }
    file.tensors.emplace_back(e.name, t);
  }
  return file;
}

void save_npy(const std::string& path, const Tensor& t) {
  SR_CHECK_VALUE(t.defined(), "save_npy {}: the tensor is undefined", path);
  const FileDType& type = file_dtype_written(kNpyTypes, t.dtype());
  std::string header = fmt::format("{{'descr': '{}', 'fortran_order': False, 'shape': ({}{}), }}",
                                   type.name, fmt::join(t.shape(), ", "), t.dim() == 1 ? "," : "");
  // Magic, version and header length (2 bytes in 1.0, 4 in 2.0), then the header padded with
  // spaces and ended by '\n' so that the data starts at a multiple of 64 bytes.
  auto padded = [&](size_t prefix) { return (prefix + header.size() + 1 + 63) / 64 * 64 - prefix; };
  const bool v2 = padded(10) > 0xffff;
  const uint32_t len = uint32_t(padded(v2 ? 12 : 10));
  header.append(len - header.size() - 1, ' ');
  header += '\n';

  Tensor c = host_contiguous(t);
  AtomicWriter out(path);
  out.write(v2 ? "\x93NUMPY\x02\x00" : "\x93NUMPY\x01\x00", 8);
  out.write(&len, v2 ? 4 : 2);
  out.write(header.data(), header.size());
  out.write(c.raw_data(), c.nbytes());
  out.commit();
}

Tensor load_npy(const std::string& path, std::string* descr) {
  Reader in(path);
  std::array<unsigned char, 8> pre{};
  in.read(0, std::min<uint64_t>(in.size(), 8), pre.data(), "the magic string");
  SR_CHECK_IO(std::memcmp(pre.data(), "\x93NUMPY", 6) == 0, "{}: not a .npy file (bad magic)",
              path);
  SR_CHECK_IO((pre[6] == 1 || pre[6] == 2) && pre[7] == 0,
              "{}: unsupported .npy version {}.{} (1.0 and 2.0 are read)", path, pre[6], pre[7]);
  const uint64_t len_size = pre[6] == 1 ? 2 : 4;
  uint32_t len = 0;
  in.read(8, len_size, &len, "the header length");
  in.require(8 + len_size, len, "the header");
  std::string text(len, '\0');
  in.read(8 + len_size, len, text.data(), "the header");
  const uint64_t data_start = 8 + len_size + len;

  NpyHeader h = NpyHeaderParser(text, path).parse();
  SR_CHECK_IO(!h.fortran_order, "{}: Fortran-order arrays are not supported", path);
  const FileDType* type = file_dtype_named(kNpyTypes, h.descr);
  SR_CHECK_IO(type != nullptr, "{}: unsupported dtype '{}' (<f4, <i4, <i8, <f8 and |u1 are read)",
              path, h.descr);
  const int64_t numel = checked_numel(h.shape, path);
  in.require(data_start, uint64_t(numel) * type->itemsize, "the array data");

  if (descr) *descr = h.descr;
  Tensor t = Tensor::empty(h.shape, type->dtype);
  if (type->name == "<f8") {
    read_converted<double>(in, data_start, numel, t.data<float>());
  } else if (type->name == "|u1") {
    read_converted<uint8_t>(in, data_start, numel, t.data<int32_t>());
  } else {
    in.read(data_start, t.nbytes(), t.raw_data(), "the array data");
  }
  return t;
}

}  // namespace sr
