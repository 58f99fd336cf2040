// Building models by name from a JSON-serialisable spec, so that a weights file can carry the
// description of its own model (`sraal predict` rebuilds it from the file alone).
#pragma once

#include <memory>
#include <string>

#include <nlohmann/json.hpp>

#include "engine/random.h"
#include "layers/module.h"

namespace sr {

struct ModelSpec {
  std::string arch = "resnet18";  // resnet18 | resnet18-imagenet | vae | sraal-generator |
                                  // discriminator | drn-d-22
  int64_t in_channels = 3, height = 32, width = 32;
  int64_t num_classes = 10;
  float width_mult = 1.f;    // resnet, drn
  float dropout = 0.f;       // resnet, drn: before the classifier, in training
  int64_t z_dim = 32;        // vae, generator, discriminator
  int64_t base_width = 128;  // vae, generator
  int64_t disc_width = 512;  // discriminator
  int64_t disc_depth = 4;    // discriminator
};

nlohmann::json spec_to_json(const ModelSpec& s);
// Throws ValueError naming the field when a value is missing or of the wrong type.
ModelSpec spec_from_json(const nlohmann::json& j);
std::shared_ptr<Module> build_model(const ModelSpec& s, Generator& init,
                                    std::shared_ptr<Generator> noise);

// Saves weights with the spec in the file's metadata ("sraal.model") and loads them back.
void save_model(const std::string& path, const Module& m, const ModelSpec& s);
std::pair<std::shared_ptr<Module>, ModelSpec> load_model(const std::string& path);

}  // namespace sr
