// The target model of an active-learning cycle as `sraal run` (sraal/experiment.cpp) and `sraal
// query` (sraal/query.cpp) both build and train it: its model spec from the configuration and
// the dataset, and its training options (SGD settings, lr schedule; crop padding 4 for 32x32
// images, 2 for 28x28 and 0 otherwise unless configured; flips; segmentation's ignore index
// and random scale).
#pragma once

#include "data/dataset.h"
#include "layers/model_zoo.h"
#include "sraal/config.h"
#include "sraal/train_classifier.h"

namespace sr {

// `dropout` before the classifier: what the method asks of its target (TargetRequirements).
ModelSpec target_spec(const TargetConfig& t, const DatasetInfo& info, float dropout);

// Everything but the seed, the joint objective and the progress callback.
ClassifierTrainOptions target_train_options(const TargetConfig& t, const DatasetInfo& info,
                                            Device device, int loader_workers);

}  // namespace sr
