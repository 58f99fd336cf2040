// `sraal predict --raw`: uint8 images prepared for a model as its training prepared them (the
// "sraal.preprocess" metadata of the weights file, layers/model_zoo.h): pixels / 255, minus the
// training split's per-channel mean, over its standard deviation.
//
// Inputs: a .npy uint8 array (N, C, H, W) (C the model's channels; H and W the training size,
// or any size for a ResNet), one .png/.jpg/.jpeg image, or a folder of them (sorted by name;
// each decoded with the model's channel count, gray replicated to RGB, and resized bilinearly to
// the training height x width as the image-folder dataset does). IOError naming the file for an
// unreadable image, a .npy of another dtype, shape or value range, or a folder without images.
#pragma once

#include <string>
#include <vector>

#include "engine/tensor.h"
#include "layers/model_zoo.h"

namespace sr::app {

struct RawInput {
  Tensor images;                     // (N, C, H, W) float32, normalised
  std::vector<std::string> sources;  // the image files, in order (empty for a .npy)
};

// `any_size`: the model takes any H and W (a ResNet): a .npy keeps its size.
RawInput load_raw_input(const std::string& path, const Preprocess& pre, bool any_size);

}  // namespace sr::app
