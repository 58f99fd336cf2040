// The target's model spec and training options from the configuration (see target_setup.h).
#include "sraal/target_setup.h"

namespace sr {

ModelSpec target_spec(const TargetConfig& t, const DatasetInfo& info, float dropout) {
  ModelSpec spec;
  spec.arch = t.arch;
  spec.in_channels = info.channels, spec.height = info.height, spec.width = info.width;
  spec.num_classes = info.num_classes;
  spec.width_mult = t.width;
  spec.dropout = dropout;
  return spec;
}

ClassifierTrainOptions target_train_options(const TargetConfig& t, const DatasetInfo& info,
                                            Device device, int loader_workers) {
  ClassifierTrainOptions o;
  o.epochs = t.epochs, o.batch_size = t.batch, o.lr = t.lr;
  o.momentum = t.momentum, o.weight_decay = t.weight_decay;
  o.milestones = t.milestones;
  o.poly_power = t.poly_power;
  const bool seg = info.segmentation;
  if (seg) o.ignore_index = info.ignore_index;
  int64_t pad = t.crop_padding >= 0 ? t.crop_padding
                : seg               ? 0
                : info.height == 32 ? 4
                : info.height == 28 ? 2
                                    : 0;
  o.augment = Augment{pad, t.hflip};
  o.augment.scale_min = 1.f / t.random_scale;
  o.augment.scale_max = t.random_scale;
  o.device = device;
  o.loader_workers = loader_workers;
  return o;
}

}  // namespace sr
