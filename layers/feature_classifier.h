// A classifier that exposes its penultimate features, for the selection methods that work on
// them (core-set, MC-dropout, BALD, BADGE): logits = classifier(dropout(features(x))), the dropout
// (probability dropout(), 0 for none) active in training mode only.
//   features(x)    (N, ...) -> (N, feature_dim()), train/eval rules as forward()
//   classifier(f)  (N, feature_dim()) -> logits (N, C): the last layer alone, no dropout
#pragma once

#include <cstdint>

#include "engine/tensor.h"

namespace sr {

class FeatureClassifier {
 public:
  virtual ~FeatureClassifier() = default;
  virtual Tensor features(const Tensor& x) = 0;
  virtual Tensor classifier(const Tensor& features) = 0;
  virtual int64_t feature_dim() const = 0;
  virtual float dropout() const = 0;
};

}  // namespace sr
