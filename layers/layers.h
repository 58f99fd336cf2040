// Basic layers with PyTorch's parameter names, shapes and default initialisation.
//
//   Conv2d           weight (out, in, k, k), bias (out)
//   ConvTranspose2d  weight (in, out, k, k), bias (out)
//   BatchNorm2d      weight, bias, running_mean, running_var (C), num_batches_tracked (int64);
//                    with a sync group, training uses the statistics of every rank's batch
//   Linear           weight (out, in), bias (out)
// Default init (torch.nn): weight ~ U(-1/sqrt(fan_in), 1/sqrt(fan_in)) (kaiming_uniform with
// a = sqrt(5)), bias likewise; fan_in = weight.size(1) * k * k. BatchNorm: weight 1, bias 0.
#pragma once

#include <memory>

#include "engine/distributed.h"
#include "engine/ops.h"
#include "engine/random.h"
#include "layers/module.h"

namespace sr {

// ---- initialisers (in place, from the run's generator) ----
int64_t fan_in_of(const Tensor& weight);   // size(1) * receptive field, as PyTorch
int64_t fan_out_of(const Tensor& weight);  // size(0) * receptive field
void init_default_uniform(Tensor& w, int64_t fan_in, Generator& gen);
// kaiming_normal_(mode, relu gain): std = sqrt(2 / fan).
void init_kaiming_normal(Tensor& w, int64_t fan, Generator& gen);

struct Conv2dOptions {
  int64_t in, out, kernel;
  int64_t stride = 1, padding = 0, dilation = 1;
  bool bias = true;
};

class Conv2d : public Module {
 public:
  Conv2d(const Conv2dOptions& o, Generator& gen);
  Tensor forward(const Tensor& x) override;
  std::string type_name() const override { return "Conv2d"; }
  Tensor weight, bias;
  Conv2dOptions opt;
};

struct ConvTranspose2dOptions {
  int64_t in, out, kernel;
  int64_t stride = 1, padding = 0, output_padding = 0, dilation = 1;
  bool bias = true;
};

// A bias-free Conv2d initialised kaiming_normal(fan_out, relu), as torchvision's ResNet and
// fyu/drn's DRN initialise theirs.
std::shared_ptr<Conv2d> kaiming_conv(int64_t in, int64_t out, int64_t kernel, int64_t stride,
                                     int64_t padding, Generator& gen, int64_t dilation = 1);

class ConvTranspose2d : public Module {
 public:
  ConvTranspose2d(const ConvTranspose2dOptions& o, Generator& gen);
  Tensor forward(const Tensor& x) override;
  std::string type_name() const override { return "ConvTranspose2d"; }
  Tensor weight, bias;
  ConvTranspose2dOptions opt;
};

class BatchNorm2d : public Module {
 public:
  explicit BatchNorm2d(int64_t channels, float eps = 1e-5f, float momentum = 0.1f);
  Tensor forward(const Tensor& x) override;
  std::string type_name() const override { return "BatchNorm2d"; }
  Tensor weight, bias, running_mean, running_var, num_batches_tracked;
  float eps, momentum;
  // When set: batch statistics over the group's ranks (engine/sync_batch_norm.h).
  std::shared_ptr<const ProcessGroup> sync_group;
};

// Makes every BatchNorm2d in `m` synchronise its training statistics over `group` (PyTorch's
// SyncBatchNorm.convert_sync_batchnorm); null makes them per-process again. Returns how many.
int64_t synchronise_batch_norm(Module& m, std::shared_ptr<const ProcessGroup> group);

class Linear : public Module {
 public:
  Linear(int64_t in, int64_t out, Generator& gen, bool bias = true);
  Tensor forward(const Tensor& x) override;
  std::string type_name() const override { return "Linear"; }
  Tensor weight, bias;
};

// Dropout draws its masks from a generator it shares with the model.
class Dropout : public Module {
 public:
  Dropout(float p, std::shared_ptr<Generator> gen) : p_(p), gen_(std::move(gen)) {}
  Tensor forward(const Tensor& x) override { return dropout(x, p_, is_training(), *gen_); }
  std::string type_name() const override { return "Dropout"; }

 private:
  float p_;
  std::shared_ptr<Generator> gen_;
};

class ReLU : public Module {
 public:
  Tensor forward(const Tensor& x) override { return relu(x); }
  std::string type_name() const override { return "ReLU"; }
};

class LeakyReLU : public Module {
 public:
  explicit LeakyReLU(float slope = 0.01f) : slope_(slope) {}
  Tensor forward(const Tensor& x) override { return leaky_relu(x, slope_); }
  std::string type_name() const override { return "LeakyReLU"; }

 private:
  float slope_;
};

class Sigmoid : public Module {
 public:
  Tensor forward(const Tensor& x) override { return sigmoid(x); }
  std::string type_name() const override { return "Sigmoid"; }
};

class Tanh : public Module {
 public:
  Tensor forward(const Tensor& x) override { return tanh(x); }
  std::string type_name() const override { return "Tanh"; }
};

// Reshapes to (batch, rest...): `shape` excludes the batch dimension.
class View : public Module {
 public:
  explicit View(Shape shape) : shape_(std::move(shape)) {}
  Tensor forward(const Tensor& x) override;
  std::string type_name() const override { return "View"; }

 private:
  Shape shape_;
};

class MaxPool2d : public Module {
 public:
  MaxPool2d(int64_t kernel, int64_t stride, int64_t padding = 0)
      : k_(kernel), s_(stride), p_(padding) {}
  Tensor forward(const Tensor& x) override { return max_pool2d(x, k_, s_, p_); }
  std::string type_name() const override { return "MaxPool2d"; }

 private:
  int64_t k_, s_, p_;
};

// Global average pooling and flatten: (N, C, H, W) -> (N, C).
class GlobalAvgPool : public Module {
 public:
  Tensor forward(const Tensor& x) override { return global_avg_pool(x); }
  std::string type_name() const override { return "GlobalAvgPool"; }
};

}  // namespace sr
