// Building models by name from a JSON-serialisable spec, so that a weights file can carry the
// description of its own model (`sraal predict` rebuilds it from the file alone).
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

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

// How the model's inputs were prepared in training, stored beside the weights ("sraal.preprocess")
// so that raw images are prepared the same way: pixels / 255, minus mean, over std, per
// channel, at height x width.
struct Preprocess {
  std::string dataset;
  int64_t channels = 0, height = 0, width = 0;
  std::vector<float> mean, std;
  std::vector<std::string> class_names;
  bool segmentation = false;
};

nlohmann::json spec_to_json(const ModelSpec& s);
// Throws ValueError naming the field when a value is missing or of the wrong type.
ModelSpec spec_from_json(const nlohmann::json& j);
std::shared_ptr<Module> build_model(const ModelSpec& s, Generator& init,
                                    std::shared_ptr<Generator> noise);

// What a weights file without our metadata (a plain PyTorch state_dict, saved with
// safetensors.torch.save_file) needs besides its tensors.
struct InferOptions {
  std::string arch;               // empty: told from the names (see infer_model_spec)
  int64_t height = 0, width = 0;  // the input geometry: needed by vae and sraal-generator only
};

// The spec of the model whose state dict `sd` is (DataParallel's `module.` prefix allowed):
//   conv1.weight + fc.weight            resnet18 (3x3 conv1) or resnet18-imagenet (7x7);
//                                       in_channels, width (conv1's outputs / 64), classes (fc)
//   base.0.0.weight + seg.weight        drn-d-22; in_channels, width (/ 16), classes (seg)
//   fc_mu.weight (+ classifier.*)       vae (sraal-generator); in_channels, base width, z_dim,
//                                       classes from the classifier's last layer
//   net.0.weight                        discriminator; z_dim, width, depth
// Throws ValueError naming `what` (the file) when the names fit no model or a needed size is
// missing.
ModelSpec infer_model_spec(const NamedTensors& sd, const InferOptions& opt,
                           const std::string& what);

// Saves weights with the spec in the file's metadata ("sraal.model") and loads them back. A
// file without that metadata is a plain state dict: its spec comes from infer_model_spec. When
// opt.arch is given it must be the file's. Faults throw IOError naming the path.
void save_model(const std::string& path, const Module& m, const ModelSpec& s,
                const std::optional<Preprocess>& pre = std::nullopt);
struct ModelFile {
  ModelSpec spec;
  NamedTensors tensors;
  std::optional<Preprocess> preprocess;  // files written by `sraal train`
};
ModelFile read_model_file(const std::string& path, const InferOptions& opt = {});
std::pair<std::shared_ptr<Module>, ModelSpec> load_model(const std::string& path,
                                                         const InferOptions& opt = {});
// Copies a file's tensors into `m` (a model built from the file's spec, or one that fits it).
void load_weights(Module& m, const ModelFile& f, const std::string& path);

}  // namespace sr
