// Plain PyTorch checkpoints: state dicts written by safetensors.torch.save_file from torchvision's
// ResNet-18 (tests/fixtures/gen_fixtures.py, plain_checkpoint_cases) load with no metadata of
// ours, the model told from the names and shapes, and predict the logits PyTorch computed from
// the same stored weights. The three files cover both ResNet forms, DataParallel's `module.`
// prefix, float16, bfloat16 and float64 tensors and a state dict without num_batches_tracked.
// Also: the float16/bfloat16 conversions on special values, the one-line hint for a torch.save
// pickle, the errors of a state dict that fits no model, `sraal train --init-from`, and the
// preprocessing that travels with our weights (`predict --raw`).
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <fstream>
#include <limits>

#include "data/batch.h"
#include "data/dataset.h"
#include "engine/autograd.h"
#include "engine/ops.h"
#include "engine/serialize.h"
#include "layers/model_zoo.h"
#include "tests/data_writers.h"
#include "tests/gradcheck.h"
#include "tests/run_sraal.h"

namespace sr {
namespace {

using test::all_close;
using testing_data::TempDir;
using testing_data::write_png;

std::string fixture(const std::string& name) {
  return std::string(SR_FIXTURE_DIR) + "/" + name + ".safetensors";
}

Tensor reference(const std::string& key) {
  static const SafetensorsFile f = load_safetensors(fixture("plain_checkpoint_logits"));
  for (const auto& [n, t] : f.tensors)
    if (n == key) return t;
  throw ValueError("no reference tensor " + key);
}

// The stored weights are the same float32 numbers on both sides; the forward passes differ in
// summation order only (float32, a net of 20 layers): 1e-4 absolute + relative.
constexpr double kLogitTol = 1e-4;

struct PlainCase {
  const char* file;
  const char* arch;
  const char* input;
};

TEST(TorchCheckpoints, PlainStateDictsLoadAndPredictAsPyTorch) {
  for (PlainCase c : {PlainCase{"plain_resnet18_imagenet", "resnet18-imagenet", "x_imagenet"},
                      PlainCase{"plain_resnet18_cifar_dp_f16", "resnet18", "x_cifar"},
                      PlainCase{"plain_resnet18_cifar_bf16", "resnet18", "x_cifar"}}) {
    SCOPED_TRACE(c.file);
    SafetensorsFile raw = load_safetensors(fixture(c.file));
    EXPECT_TRUE(raw.metadata.empty());
    auto [model, spec] = load_model(fixture(c.file));
    EXPECT_EQ(spec.arch, c.arch);
    EXPECT_EQ(spec.in_channels, 3);
    EXPECT_EQ(spec.num_classes, 10);
    EXPECT_FLOAT_EQ(spec.width_mult, 1.f / 16);
    model->eval();
    NoGradGuard ng;
    EXPECT_TRUE(
        all_close(model->forward(reference(c.input)), reference(c.file), kLogitTol, kLogitTol));
    // Given explicitly, the architecture must be the file's.
    EXPECT_EQ(load_model(fixture(c.file), {c.arch}).second.arch, c.arch);
  }
  EXPECT_THROW(load_model(fixture("plain_resnet18_cifar_bf16"), {"resnet18-imagenet"}), IOError);
}

TEST(TorchCheckpoints, PredictCommandTakesAPlainStateDict) {
  TempDir dir;
  save_npy(dir / "x.npy", reference("x_imagenet"));
  auto r = test::run_sraal("predict --weights " + fixture("plain_resnet18_imagenet") + " --input " +
                           (dir / "x.npy") + " --output " + (dir / "y.npy"));
  ASSERT_EQ(r.code, 0) << r.output;
  EXPECT_TRUE(all_close(load_npy(dir / "y.npy"), reference("plain_resnet18_imagenet"), kLogitTol,
                        kLogitTol));
  auto bad =
      test::run_sraal("predict --arch drn-d-22 --weights " + fixture("plain_resnet18_imagenet") +
                      " --input " + (dir / "x.npy") + " --output " + (dir / "y.npy"));
  EXPECT_NE(bad.code, 0);
  EXPECT_NE(bad.output.find("expected a 4-d tensor 'base.0.0.weight'"), std::string::npos)
      << bad.output;
}

// Half and bfloat16 tensors convert exactly: normals, subnormals, signed zero, infinities, NaN.
TEST(TorchCheckpoints, HalfAndBfloat16ReadExactly) {
  TempDir dir;
  const std::vector<uint16_t> half = {0x3c00, 0xc000, 0x0001, 0x03ff, 0x8000,
                                      0x7c00, 0xfc00, 0x7e00, 0x7bff, 0x3555};
  const std::vector<float> half_want = {1.f,
                                        -2.f,
                                        std::ldexp(1.f, -24),
                                        std::ldexp(1023.f, -24),
                                        -0.f,
                                        std::numeric_limits<float>::infinity(),
                                        -std::numeric_limits<float>::infinity(),
                                        std::numeric_limits<float>::quiet_NaN(),
                                        65504.f,
                                        0.333251953125f};
  const std::vector<uint16_t> bf16 = {0x3f80, 0xc040, 0x0001, 0x7f80, 0x3eab};
  const std::vector<float> bf16_want = {1.f, -3.f, std::ldexp(1.f, -133),
                                        std::numeric_limits<float>::infinity(), 0.333984375f};
  // The file as safetensors writes it: header length, JSON header, little-endian data.
  std::string header = R"({"h":{"dtype":"F16","shape":[10],"data_offsets":[0,20]},)"
                       R"("b":{"dtype":"BF16","shape":[5],"data_offsets":[20,30]},)"
                       R"("d":{"dtype":"F64","shape":[1],"data_offsets":[30,38]}})";
  const uint64_t n = header.size();
  std::ofstream out(dir / "t.safetensors", std::ios::binary);
  out.write(reinterpret_cast<const char*>(&n), 8);
  out.write(header.data(), std::streamsize(n));
  out.write(reinterpret_cast<const char*>(half.data()), 20);
  out.write(reinterpret_cast<const char*>(bf16.data()), 10);
  const double d = 0.1;
  out.write(reinterpret_cast<const char*>(&d), 8);
  out.close();
  SafetensorsFile f = load_safetensors(dir / "t.safetensors");
  ASSERT_EQ(f.tensors.size(), 3u);
  auto expect_bits = [](const Tensor& t, const std::vector<float>& want) {
    ASSERT_EQ(t.dtype(), DType::f32);
    std::vector<float> got = t.to_vector();
    ASSERT_EQ(got.size(), want.size());
    for (size_t i = 0; i < want.size(); ++i) {
      if (std::isnan(want[i])) {
        EXPECT_TRUE(std::isnan(got[i])) << i;
      } else {
        uint32_t g, w;
        std::memcpy(&g, &got[i], 4), std::memcpy(&w, &want[i], 4);
        EXPECT_EQ(g, w) << i << ": " << got[i] << " vs " << want[i];
      }
    }
  };
  expect_bits(f.tensors[0].second, half_want);
  expect_bits(f.tensors[1].second, bf16_want);
  expect_bits(f.tensors[2].second, {0.1f});
}

// torch.save's formats (a zip archive; the legacy pickle) are named, with the conversion.
TEST(TorchCheckpoints, TorchPickleGetsTheConversionHint) {
  TempDir dir;
  for (std::string magic : {std::string("PK\x03\x04\x14\x00\x00\x00", 8),
                            std::string("\x80\x02\x8a\x0a\x6c\xfc\x9c\x46", 8)}) {
    std::ofstream(dir / "m.pt", std::ios::binary) << magic << std::string(64, 'x');
    try {
      load_safetensors(dir / "m.pt");
      FAIL() << "expected IOError";
    } catch (const IOError& e) {
      std::string m = e.what();
      EXPECT_NE(m.find("a PyTorch pickle (torch.save), not safetensors"), std::string::npos) << m;
      EXPECT_NE(m.find("st.save_file(torch.load('" + (dir / "m.pt") + "'"), std::string::npos) << m;
    }
  }
}

TEST(TorchCheckpoints, StateDictOfNoKnownModelIsNamed) {
  NamedTensors sd = {{"encoder.layers.0.weight", Tensor::zeros({4, 4})},
                     {"head.weight", Tensor::zeros({2, 4})}};
  try {
    infer_model_spec(sd, {}, "f.safetensors");
    FAIL() << "expected ValueError";
  } catch (const ValueError& e) {
    std::string m = e.what();
    EXPECT_NE(m.find("f.safetensors: its 2 tensor names (encoder.layers.0.weight, ...) fit none"),
              std::string::npos)
        << m;
    EXPECT_NE(m.find("--arch"), std::string::npos) << m;
  }
  // A VAE's state dict does not hold its image size.
  NamedTensors vae = {{"encoder.0.weight", Tensor::zeros({8, 3, 4, 4})},
                      {"fc_mu.weight", Tensor::zeros({16, 32})}};
  EXPECT_THROW(infer_model_spec(vae, {}, "v.safetensors"), ValueError);
  ModelSpec s = infer_model_spec(vae, {"", 32, 32}, "v.safetensors");
  EXPECT_EQ(s.arch, "vae");
  EXPECT_EQ(s.base_width, 8);
  EXPECT_EQ(s.z_dim, 16);
  NamedTensors disc = {{"net.0.weight", Tensor::zeros({64, 16})},
                       {"net.2.weight", Tensor::zeros({64, 64})},
                       {"net.4.weight", Tensor::zeros({1, 64})}};
  ModelSpec d = infer_model_spec(disc, {}, "d.safetensors");
  EXPECT_EQ(d.arch, "discriminator");
  EXPECT_EQ(d.z_dim, 16);
  EXPECT_EQ(d.disc_width, 64);
  EXPECT_EQ(d.disc_depth, 2);
}

// `train --init-from` starts from a file's weights: a plain state dict (our file re-saved
// without metadata and under DataParallel's prefix) trained at a vanishing learning rate keeps
// its convolution weights bit for bit, where a run from scratch does not.
TEST(TorchCheckpoints, TrainInitFromAPlainStateDict) {
  TempDir dir;
  const std::string common =
      "train --dataset synthetic --epochs 1 --subset 128 --batch-size 64 --seed 3 ";
  auto first = test::run_sraal(common + "--width 0.0625 --out " + (dir / "a.safetensors"));
  ASSERT_EQ(first.code, 0) << first.output;
  NamedTensors prefixed;
  for (auto& [n, t] : load_safetensors(dir / "a.safetensors").tensors)
    prefixed.emplace_back("module." + n, t);
  save_safetensors(dir / "plain.safetensors", prefixed);

  auto tuned = test::run_sraal(common + "--lr 1e-30 --init-from " + (dir / "plain.safetensors") +
                               " --out " + (dir / "b.safetensors"));
  ASSERT_EQ(tuned.code, 0) << tuned.output;
  EXPECT_NE(tuned.output.find("resnet18 on synthetic"), std::string::npos) << tuned.output;
  auto weight = [&](const std::string& file, const std::string& name) {
    for (auto& [n, t] : load_safetensors(dir / file).tensors)
      if (n == name || n == "module." + name) return t.to_vector();
    return std::vector<float>{};
  };
  for (const char* name : {"conv1.weight", "layer3.1.conv2.weight"}) {
    ASSERT_FALSE(weight("plain.safetensors", name).empty()) << name;
    EXPECT_EQ(weight("b.safetensors", name), weight("plain.safetensors", name)) << name;
  }
  // Without --init-from the same command keeps the seed's initial weights instead.
  auto scratch =
      test::run_sraal(common + "--width 0.0625 --lr 1e-30 --out " + (dir / "c.safetensors"));
  ASSERT_EQ(scratch.code, 0) << scratch.output;
  EXPECT_NE(weight("c.safetensors", "conv1.weight"), weight("plain.safetensors", "conv1.weight"));

  auto wrong_width = test::run_sraal(common + "--width 0.25 --init-from " +
                                     (dir / "plain.safetensors") + " --out " + (dir / "d.st"));
  EXPECT_NE(wrong_width.code, 0);
  EXPECT_NE(wrong_width.output.find("--width 0.25 differs from --init-from"), std::string::npos)
      << wrong_width.output;
  auto wrong_data = test::run_sraal(common + "--init-from " + fixture("plain_resnet18_imagenet") +
                                    " --out " + (dir / "d.st"));
  EXPECT_NE(wrong_data.code, 0);
  EXPECT_NE(wrong_data.output.find("is a resnet18-imagenet of 3 input channels and 10 classes; "
                                   "synthetic has 1 and 10"),
            std::string::npos)
      << wrong_data.output;
  EXPECT_FALSE(std::filesystem::exists(dir / "d.st"));
}

// A .npy of uint8 pixels (numpy's '|u1'), as np.save writes one.
void save_u8_npy(const std::string& path, const Shape& shape, const std::vector<uint8_t>& v) {
  std::string dims;
  for (int64_t d : shape) dims += std::to_string(d) + ", ";
  std::string header = "{'descr': '|u1', 'fortran_order': False, 'shape': (" +
                       dims.substr(0, dims.size() - 2) + "), }";
  header.append(63 - (10 + header.size()) % 64, ' ');
  header += '\n';
  std::ofstream out(path, std::ios::binary);
  const uint16_t n = uint16_t(header.size());
  out.write("\x93NUMPY\x01\x00", 8);
  out.write(reinterpret_cast<const char*>(&n), 2);
  out << header;
  out.write(reinterpret_cast<const char*>(v.data()), std::streamsize(v.size()));
}

// `sraal train` stores how its inputs were prepared; `predict --raw` prepares uint8 pixels (a
// .npy, or a folder of PNGs) the same way and predicts what the normalised batch predicts.
TEST(TorchCheckpoints, RawPixelsArePreparedAsInTraining) {
  TempDir dir;
  auto t = test::run_sraal(
      "train --dataset synthetic --width 0.0625 --epochs 1 --subset 128 --batch-size 64 --out " +
      (dir / "m.safetensors"));
  ASSERT_EQ(t.code, 0) << t.output;
  DatasetOptions synthetic;
  synthetic.name = "synthetic";
  DatasetSplits data = load_dataset(synthetic);
  ModelFile f = read_model_file(dir / "m.safetensors");
  ASSERT_TRUE(f.preprocess.has_value());
  const Preprocess& pre = *f.preprocess;
  EXPECT_EQ(pre.dataset, "synthetic");
  EXPECT_EQ(pre.channels, 1);
  EXPECT_EQ(pre.height, 28);
  EXPECT_EQ(pre.width, 28);
  EXPECT_EQ(pre.mean, data.train->norm_mean());
  EXPECT_EQ(pre.std, data.train->norm_std());
  EXPECT_EQ(pre.class_names, data.train->info().class_names);
  EXPECT_FALSE(pre.segmentation);

  // Four test items: their pixels raw, and the batch training code would build from them.
  const std::vector<int64_t> items = {0, 1, 2, 3};
  std::vector<uint8_t> pixels(items.size() * 28 * 28);
  for (size_t i = 0; i < items.size(); ++i) {
    data.test->read_pixels(items[i], pixels.data() + i * 28 * 28);
    write_png(
        dir / fmt::format("png/item{}.png", i), 28, 28, 1,
        std::vector<uint8_t>(pixels.begin() + long(i) * 784, pixels.begin() + long(i + 1) * 784));
  }
  save_u8_npy(dir / "raw.npy", {4, 1, 28, 28}, pixels);
  save_npy(dir / "x.npy", make_batch(*data.test, items, Augment{}, 0, 0).images);
  auto predict = [&](const std::string& args, const std::string& out) {
    auto r = test::run_sraal("predict --weights " + (dir / "m.safetensors") + " " + args +
                             " --output " + (dir / out));
    EXPECT_EQ(r.code, 0) << r.output;
    return load_npy(dir / out);
  };
  Tensor want = predict("--input " + (dir / "x.npy"), "want.npy");
  // The same float32 formula up to the order of one multiply: 1e-5.
  EXPECT_TRUE(all_close(predict("--raw --input " + (dir / "raw.npy"), "a.npy"), want, 1e-5, 1e-5));
  EXPECT_TRUE(all_close(predict("--raw --input " + (dir / "png"), "b.npy"), want, 1e-5, 1e-5));

  auto bad = test::run_sraal("predict --raw --weights " + (dir / "m.safetensors") + " --input " +
                             (dir / "x.npy") + " --output " + (dir / "c.npy"));
  EXPECT_NE(bad.code, 0);
  EXPECT_NE(bad.output.find("--raw takes uint8 pixels (|u1), got <f4"), std::string::npos)
      << bad.output;
  auto plain = test::run_sraal("predict --raw --weights " + fixture("plain_resnet18_imagenet") +
                               " --input " + (dir / "raw.npy") + " --output " + (dir / "c.npy"));
  EXPECT_NE(plain.code, 0);
  EXPECT_NE(plain.output.find("--raw needs the preprocessing"), std::string::npos) << plain.output;
}

// scripts/sraal_torch.py builds the PyTorch module of every model sraal writes and loads the
// file with strict=True; its outputs are `sraal predict`'s. BN statistics are random so that a
// mis-wired normalisation shows. Skipped without Debian's python3-torch (setup.sh --with-torch).
TEST(TorchCheckpoints, SraalTorchBuildsEveryModelWeWrite) {
  if (test::run_command("/usr/bin/python3 -c 'import torch, numpy'").code != 0)
    GTEST_SKIP() << "needs /usr/bin/python3 with torch and numpy (scripts/setup.sh --with-torch)";
  const std::string script = (std::filesystem::path(SR_FIXTURE_DIR).parent_path().parent_path() /
                              "scripts" / "sraal_torch.py")
                                 .string();
  struct Case {
    ModelSpec spec;
    Shape input;
  };
  auto spec = [](const char* arch, int64_t c, int64_t hw, int64_t classes) {
    ModelSpec s;
    s.arch = arch, s.in_channels = c, s.height = s.width = hw, s.num_classes = classes;
    s.width_mult = 1.f / 16, s.z_dim = 8, s.base_width = 4, s.disc_width = 16, s.disc_depth = 2;
    return s;
  };
  const std::vector<Case> cases = {{spec("resnet18", 3, 16, 10), {2, 3, 16, 16}},
                                   {spec("resnet18-imagenet", 1, 32, 7), {2, 1, 32, 32}},
                                   {spec("drn-d-22", 3, 24, 5), {1, 3, 24, 24}},
                                   {spec("vae", 3, 32, 0), {2, 3, 32, 32}},
                                   {spec("sraal-generator", 1, 28, 10), {2, 1, 28, 28}},
                                   {spec("discriminator", 0, 0, 0), {4, 8}}};
  TempDir dir;
  for (const Case& c : cases) {
    SCOPED_TRACE(c.spec.arch);
    Generator g(5), data(6);
    auto m = build_model(c.spec, g, std::make_shared<Generator>(7));
    {
      NoGradGuard ng;
      for (auto& [n, t] : m->state_dict()) {
        if (!n.ends_with("running_mean") && !n.ends_with("running_var")) continue;
        std::vector<float> v(size_t(t.numel()));
        const float lo = n.ends_with("var") ? 0.75f : -0.25f;  // var in [0.75, 1.25)
        for (float& e : v) e = lo + 0.5f * float(data.uniform());
        t.copy_(Tensor::from_vector(v, t.shape()));
      }
    }
    save_model(dir / "m.safetensors", *m, c.spec);
    save_npy(dir / "x.npy", randn(c.input, data));
    auto ours = test::run_sraal("predict --weights " + (dir / "m.safetensors") + " --input " +
                                (dir / "x.npy") + " --output " + (dir / "ours.npy"));
    ASSERT_EQ(ours.code, 0) << ours.output;
    auto theirs =
        test::run_command("/usr/bin/python3 " + script + " " + (dir / "m.safetensors") +
                          " --input " + (dir / "x.npy") + " --output " + (dir / "theirs.npy"));
    ASSERT_EQ(theirs.code, 0) << theirs.output;
    EXPECT_NE(theirs.output.find("loaded with strict=True"), std::string::npos) << theirs.output;
    // float32 on both sides, different summation orders: 1e-4.
    EXPECT_TRUE(all_close(load_npy(dir / "ours.npy"), load_npy(dir / "theirs.npy"), 1e-4, 1e-4));
  }
}

}  // namespace
}  // namespace sr
