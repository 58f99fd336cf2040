// A segmentation network that exposes its encoder's map, for the selection methods that work on
// it (core-set, MC-dropout, Suggestive Annotation): logits = head(dropout(features(x))), the
// dropout (probability dropout(), 0 for none) active in training mode only. The twin of
// FeatureClassifier (layers/feature_classifier.h) for dense prediction.
//   features(x)  (N, C_in, H, W) -> (N, feature_dim(), h, w), train/eval rules as forward()
//   head(f)      (N, feature_dim(), h, w) -> logits (N, classes, H, W): the classifier and the
//                upsampling alone, no dropout
#pragma once

#include <cstdint>

#include "engine/tensor.h"

namespace sr {

class FeatureSegmenter {
 public:
  virtual ~FeatureSegmenter() = default;
  virtual Tensor features(const Tensor& x) = 0;
  virtual Tensor head(const Tensor& features) = 0;
  virtual int64_t feature_dim() const = 0;
  virtual float dropout() const = 0;
};

}  // namespace sr
