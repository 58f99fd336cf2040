// Model specs, construction by name, and self-describing weight files.
#include "layers/model_zoo.h"

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

void save_model(const std::string& path, const Module& m, const ModelSpec& s) {
  save_safetensors(path, m.state_dict(),
                   {{"sraal.model", spec_to_json(s).dump()}, {"sraal.format", "1"}});
}

std::pair<std::shared_ptr<Module>, ModelSpec> load_model(const std::string& path) {
  SafetensorsFile f = load_safetensors(path);
  auto it = f.metadata.find("sraal.model");
  SR_CHECK_IO(it != f.metadata.end(),
              "{}: no 'sraal.model' entry in the metadata (not written by sraal; rebuild the "
              "model and use load_state_dict)",
              path);
  nlohmann::json j;
  try {
    j = nlohmann::json::parse(it->second);
  } catch (const nlohmann::json::exception& e) {
    throw IOError(fmt::format("{}: the 'sraal.model' metadata is not JSON: {}", path, e.what()));
  }
  ModelSpec s = spec_from_json(j);
  Generator g(0);
  auto m = build_model(s, g, std::make_shared<Generator>(0));
  try {
    m->load_state_dict(f.tensors);
  } catch (const ValueError& e) {
    throw IOError(fmt::format("{}: {}", path, e.what()));
  }
  return {m, s};
}

}  // namespace sr
