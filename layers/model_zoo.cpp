// Model specs, construction by name, and self-describing weight files.
#include "layers/model_zoo.h"

#include <algorithm>
#include <map>

#include "engine/serialize.h"
#include "layers/drn.h"
#include "layers/resnet.h"
#include "layers/vae.h"

namespace sr {

nlohmann::json spec_to_json(const ModelSpec& s) {
  return {{"arch", s.arch},
          {"in_channels", s.in_channels},
          {"height", s.height},
          {"width", s.width},
          {"num_classes", s.num_classes},
          {"width_mult", s.width_mult},
          {"dropout", s.dropout},
          {"z_dim", s.z_dim},
          {"base_width", s.base_width},
          {"disc_width", s.disc_width},
          {"disc_depth", s.disc_depth}};
}

ModelSpec spec_from_json(const nlohmann::json& j) {
  SR_CHECK_VALUE(j.is_object(), "model spec: expected a JSON object, got {}", j.dump());
  ModelSpec s;
  auto get = [&](const char* key, auto& field) {
    if (!j.contains(key)) return;
    try {
      field = j.at(key).get<std::decay_t<decltype(field)>>();
    } catch (const nlohmann::json::exception&) {
      throw ValueError(
          fmt::format("model spec: field '{}' has the wrong type ({})", key, j.at(key).dump()));
    }
  };
  SR_CHECK_VALUE(j.contains("arch"), "model spec: missing field 'arch' in {}", j.dump());
  get("arch", s.arch);
  get("in_channels", s.in_channels);
  get("height", s.height);
  get("width", s.width);
  get("num_classes", s.num_classes);
  get("width_mult", s.width_mult);
  get("dropout", s.dropout);
  get("z_dim", s.z_dim);
  get("base_width", s.base_width);
  get("disc_width", s.disc_width);
  get("disc_depth", s.disc_depth);
  return s;
}

std::shared_ptr<Module> build_model(const ModelSpec& s, Generator& init,
                                    std::shared_ptr<Generator> noise) {
  if (s.arch == "resnet18" || s.arch == "resnet18-imagenet") {
    ResNetConfig c{s.arch == "resnet18" ? ResNetForm::cifar : ResNetForm::imagenet, s.in_channels,
                   s.num_classes, s.width_mult, s.dropout};
    return std::make_shared<ResNet18>(c, init, std::move(noise));
  }
  if (s.arch == "vae" || s.arch == "sraal-generator") {
    VaeConfig c;
    c.in_channels = s.in_channels, c.height = s.height, c.width = s.width, c.z_dim = s.z_dim;
    c.base_width = s.base_width;
    if (s.arch == "vae") return std::make_shared<Vae>(c, init, std::move(noise));
    c.num_classes = s.num_classes;
    return make_sraal_generator(c, init, std::move(noise));
  }
  if (s.arch == "discriminator")
    return std::make_shared<Discriminator>(s.z_dim, s.disc_width, s.disc_depth, init);
  if (s.arch == "drn-d-22")
    return std::make_shared<DrnD22>(
        DrnConfig{s.in_channels, s.num_classes, s.width_mult, s.dropout}, init, std::move(noise));
  throw ValueError(
      fmt::format("unknown model '{}' (expected resnet18, resnet18-imagenet, vae, sraal-generator, "
                  "discriminator or drn-d-22)",
                  s.arch));
}

namespace {

bool has_prefix(const std::string& s, const std::string& prefix) {
  return s.rfind(prefix, 0) == 0;
}

// The numbered children of `prefix` ("net." -> net.0.weight, net.2.weight, ...) that hold a
// `weight`, in order, with their shapes.
std::vector<Shape> numbered_weights(const NamedTensors& sd, const std::string& prefix) {
  std::map<int64_t, Shape> by_index;
  for (const auto& [n, t] : sd) {
    if (!has_prefix(n, prefix)) continue;
    std::string rest = n.substr(prefix.size());
    size_t dot = rest.find('.');
    if (dot == std::string::npos || rest.substr(dot) != ".weight") continue;
    const std::string idx = rest.substr(0, dot);
    if (idx.empty() || idx.find_first_not_of("0123456789") != std::string::npos) continue;
    by_index[std::stoll(idx)] = t.shape();
  }
  std::vector<Shape> out;
  for (auto& [i, shape] : by_index) out.push_back(shape);
  return out;
}

}  // namespace

ModelSpec infer_model_spec(const NamedTensors& sd_in, const InferOptions& opt,
                           const std::string& what) {
  const NamedTensors sd = without_data_parallel_prefix(sd_in);
  std::map<std::string, Shape> shapes;
  for (const auto& [n, t] : sd) shapes[n] = t.shape();
  auto shape = [&](const std::string& name, size_t dims) -> const Shape& {
    auto it = shapes.find(name);
    SR_CHECK_VALUE(it != shapes.end() && it->second.size() == dims,
                   "{}: expected a {}-d tensor '{}' for this model{}", what, dims, name,
                   it == shapes.end() ? "" : fmt::format(", got {}", shape_str(it->second)));
    return it->second;
  };
  ModelSpec s;
  s.arch = opt.arch;
  if (s.arch.empty()) {
    if (shapes.count("conv1.weight") && shapes.count("fc.weight"))
      s.arch = shape("conv1.weight", 4)[2] == 7 ? "resnet18-imagenet" : "resnet18";
    else if (shapes.count("base.0.0.weight") && shapes.count("seg.weight"))
      s.arch = "drn-d-22";
    else if (shapes.count("fc_mu.weight"))
      s.arch = std::any_of(sd.begin(), sd.end(),
                           [](const auto& p) { return has_prefix(p.first, "classifier."); })
                   ? "sraal-generator"
                   : "vae";
    else if (shapes.count("net.0.weight"))
      s.arch = "discriminator";
    else
      throw ValueError(fmt::format(
          "{}: its {} tensor names ({}{}) fit none of resnet18, resnet18-imagenet, drn-d-22, "
          "vae, sraal-generator or discriminator; pass the architecture (--arch)",
          what, sd.size(), sd.empty() ? "none" : sd.front().first, sd.size() > 1 ? ", ..." : ""));
  }
  if (s.arch == "resnet18" || s.arch == "resnet18-imagenet") {
    const Shape& c1 = shape("conv1.weight", 4);
    s.in_channels = c1[1];
    s.width_mult = float(c1[0]) / 64.f;
    s.num_classes = shape("fc.weight", 2)[0];
    s.height = s.width = s.arch == "resnet18" ? 32 : 224;
  } else if (s.arch == "drn-d-22") {
    const Shape& c0 = shape("base.0.0.weight", 4);
    s.in_channels = c0[1];
    s.width_mult = float(c0[0]) / 16.f;
    s.num_classes = shape("seg.weight", 4)[0];
    s.height = s.width = 256;
  } else if (s.arch == "vae" || s.arch == "sraal-generator") {
    SR_CHECK_VALUE(opt.height > 0 && opt.width > 0,
                   "{}: a {} state dict does not say its image size; give the input's height "
                   "and width",
                   what, s.arch);
    const Shape& e0 = shape("encoder.0.weight", 4);
    s.in_channels = e0[1];
    s.base_width = e0[0];
    s.z_dim = shape("fc_mu.weight", 2)[0];
    s.height = opt.height, s.width = opt.width;
    if (s.arch == "sraal-generator") {
      std::vector<Shape> cls = numbered_weights(sd, "classifier.");
      SR_CHECK_VALUE(!cls.empty() && cls.back().size() == 2,
                     "{}: the generator's classifier is not the STL MLP (classifier.K.weight "
                     "linear layers); a segmentation generator cannot be rebuilt from names",
                     what);
      s.num_classes = cls.back()[0];
    }
  } else if (s.arch == "discriminator") {
    std::vector<Shape> layers = numbered_weights(sd, "net.");
    SR_CHECK_VALUE(!layers.empty() && layers.front().size() == 2,
                   "{}: expected the discriminator's linear layers net.K.weight", what);
    s.z_dim = layers.front()[1];
    s.disc_width = layers.front()[0];
    s.disc_depth = int64_t(layers.size()) - 1;
  }
  return s;  // an unknown arch is build_model's error
}

namespace {

nlohmann::json preprocess_to_json(const Preprocess& p) {
  return {{"dataset", p.dataset},
          {"channels", p.channels},
          {"height", p.height},
          {"width", p.width},
          {"mean", p.mean},
          {"std", p.std},
          {"class_names", p.class_names},
          {"segmentation", p.segmentation}};
}

Preprocess preprocess_from_json(const std::string& text, const std::string& path) {
  Preprocess p;
  try {
    nlohmann::json j = nlohmann::json::parse(text);
    p.dataset = j.at("dataset").get<std::string>();
    p.channels = j.at("channels").get<int64_t>();
    p.height = j.at("height").get<int64_t>();
    p.width = j.at("width").get<int64_t>();
    p.mean = j.at("mean").get<std::vector<float>>();
    p.std = j.at("std").get<std::vector<float>>();
    p.class_names = j.at("class_names").get<std::vector<std::string>>();
    p.segmentation = j.at("segmentation").get<bool>();
  } catch (const nlohmann::json::exception& e) {
    throw IOError(
        fmt::format("{}: the 'sraal.preprocess' metadata is malformed: {}", path, e.what()));
  }
  const bool sizes = p.channels > 0 && p.height > 0 && p.width > 0;
  const bool stats = p.mean.size() == size_t(p.channels) && p.std.size() == size_t(p.channels) &&
                     std::all_of(p.std.begin(), p.std.end(), [](float v) { return v > 0.f; });
  SR_CHECK_IO(sizes && stats,
              "{}: the 'sraal.preprocess' metadata has {} channels, {}x{}, {} means and {} "
              "standard deviations (one positive value per channel needed)",
              path, p.channels, p.height, p.width, p.mean.size(), p.std.size());
  return p;
}

}  // namespace

void save_model(const std::string& path, const Module& m, const ModelSpec& s,
                const std::optional<Preprocess>& pre) {
  std::map<std::string, std::string> meta = {{"sraal.model", spec_to_json(s).dump()},
                                             {"sraal.format", "1"}};
  if (pre) meta["sraal.preprocess"] = preprocess_to_json(*pre).dump();
  save_safetensors(path, m.state_dict(), meta);
}

ModelFile read_model_file(const std::string& path, const InferOptions& opt) {
  SafetensorsFile f = load_safetensors(path);
  ModelFile out{ModelSpec{}, std::move(f.tensors), std::nullopt};
  if (auto it = f.metadata.find("sraal.preprocess"); it != f.metadata.end())
    out.preprocess = preprocess_from_json(it->second, path);
  try {
    auto it = f.metadata.find("sraal.model");
    if (it == f.metadata.end()) {
      out.spec = infer_model_spec(out.tensors, opt, path);
    } else {
      nlohmann::json j;
      try {
        j = nlohmann::json::parse(it->second);
      } catch (const nlohmann::json::exception& e) {
        throw IOError(
            fmt::format("{}: the 'sraal.model' metadata is not JSON: {}", path, e.what()));
      }
      out.spec = spec_from_json(j);
      SR_CHECK_VALUE(opt.arch.empty() || opt.arch == out.spec.arch,
                     "{}: the file holds a {} model, not {}", path, out.spec.arch, opt.arch);
    }
  } catch (const ValueError& e) {
    throw IOError(e.what());
  }
  return out;
}

void load_weights(Module& m, const ModelFile& f, const std::string& path) {
  try {
    m.load_state_dict(f.tensors);
  } catch (const ValueError& e) {
    throw IOError(fmt::format("{}: {}", path, e.what()));
  }
}

std::pair<std::shared_ptr<Module>, ModelSpec> load_model(const std::string& path,
                                                         const InferOptions& opt) {
  ModelFile f = read_model_file(path, opt);
  Generator g(0);
  auto m = build_model(f.spec, g, std::make_shared<Generator>(0));
  load_weights(*m, f, path);
  return {m, f.spec};
}

}  // namespace sr
