// The differentiable ops of the engine (the functional API models are written in).
//
// Each op checks its arguments (ShapeError/DTypeError/DeviceError naming the op and the shapes),
// allocates its outputs on the inputs' device, calls the device's kernel slot and, when a
// gradient is needed, records a backward function. Gradient rules are stated beside each
// implementation (engine/ops_*.cpp).
#pragma once

#include <cstdint>
#include <vector>

#include "engine/kernels.h"
#include "engine/random.h"
#include "engine/tensor.h"

namespace sr {

// ---- element-wise arithmetic with broadcasting ----
Tensor add(const Tensor& a, const Tensor& b);
Tensor sub(const Tensor& a, const Tensor& b);
Tensor mul(const Tensor& a, const Tensor& b);
Tensor div(const Tensor& a, const Tensor& b);
// Element-wise minimum (NaN if either is NaN); the gradient goes to the smaller operand, half
// to each at a tie (torch.minimum).
Tensor minimum(const Tensor& a, const Tensor& b);
// 1 where a > b, else 0, as float32 (a mask; not differentiable).
Tensor greater(const Tensor& a, const Tensor& b);
Tensor add(const Tensor& a, float s);
Tensor mul(const Tensor& a, float s);
Tensor affine(const Tensor& x, float scale, float shift);  // scale * x + shift
Tensor neg(const Tensor& a);
// In place, not recorded: dst += src (src broadcast to dst's shape).
void add_(Tensor& dst, const Tensor& src);

inline Tensor operator+(const Tensor& a, const Tensor& b) {
  return add(a, b);
}
inline Tensor operator-(const Tensor& a, const Tensor& b) {
  return sub(a, b);
}
inline Tensor operator*(const Tensor& a, const Tensor& b) {
  return mul(a, b);
}
inline Tensor operator/(const Tensor& a, const Tensor& b) {
  return div(a, b);
}
inline Tensor operator+(const Tensor& a, float s) {
  return add(a, s);
}
inline Tensor operator-(const Tensor& a, float s) {
  return add(a, -s);
}
inline Tensor operator*(const Tensor& a, float s) {
  return mul(a, s);
}
inline Tensor operator/(const Tensor& a, float s) {
  return mul(a, 1.f / s);
}
inline Tensor operator+(float s, const Tensor& a) {
  return add(a, s);
}
inline Tensor operator-(float s, const Tensor& a) {
  return affine(a, -1.f, s);
}
inline Tensor operator*(float s, const Tensor& a) {
  return mul(a, s);
}
inline Tensor operator-(const Tensor& a) {
  return neg(a);
}

// ---- element-wise functions ----
Tensor relu(const Tensor& x);
Tensor leaky_relu(const Tensor& x, float negative_slope = 0.01f);
Tensor sigmoid(const Tensor& x);
Tensor tanh(const Tensor& x);
Tensor exp(const Tensor& x);
Tensor log(const Tensor& x);
Tensor sqrt(const Tensor& x);
Tensor pow(const Tensor& x, float exponent);
Tensor clamp(const Tensor& x, float lo, float hi);

// ---- reductions ----
Tensor sum(const Tensor& x);  // all elements, 0-d result
Tensor sum(const Tensor& x, std::vector<int64_t> dims, bool keepdim = false);
Tensor mean(const Tensor& x);
Tensor mean(const Tensor& x, std::vector<int64_t> dims, bool keepdim = false);
// Sums x down to `shape` (the inverse of broadcasting `shape` to x's shape).
Tensor sum_to(const Tensor& x, const Shape& shape);
// Index of the largest element along the last dimension (int64, not differentiable).
Tensor argmax(const Tensor& x);
// Inclusive running sum along the last dimension: y[..., i] = sum_{k <= i} x[..., k], or
// sum_{k >= i} when `reverse` (accumulated in double).
Tensor cumsum(const Tensor& x, bool reverse = false);

// ---- shape ----
Tensor concat(const std::vector<Tensor>& xs, int64_t dim);
std::vector<Tensor> split(const Tensor& x, const std::vector<int64_t>& sizes, int64_t dim);
// Rows of x (dim 0) at `index` (int64 tensor or list).
Tensor index_select(const Tensor& x, const Tensor& index);
Tensor index_select(const Tensor& x, const std::vector<int64_t>& index);
// (N, classes) float32: row i is 1 at index[i] (int64 (N), in [0, classes)), 0 elsewhere.
Tensor one_hot(const Tensor& index, int64_t classes);
Tensor transpose2d(const Tensor& x);  // (M, N) -> (N, M), contiguous copy

// ---- linear algebra ----
Tensor matmul(const Tensor& a, const Tensor& b);  // (M, K) x (K, N)
// x (N, in), weight (out, in), bias (out) or undefined: y = x weight^T + bias.
Tensor linear(const Tensor& x, const Tensor& weight, const Tensor& bias);

// ---- convolution, normalisation, pooling ----
// The output layout follows preferred_conv_format() (channels_last on the CPU by default).
Tensor conv2d(const Tensor& x, const Tensor& weight, const Tensor& bias, int64_t stride = 1,
              int64_t padding = 0, int64_t dilation = 1);
Tensor conv2d(const Tensor& x, const Tensor& weight, const Tensor& bias, const ConvParams& p);
Tensor conv_transpose2d(const Tensor& x, const Tensor& weight, const Tensor& bias,
                        int64_t stride = 1, int64_t padding = 0, int64_t output_padding = 0,
                        int64_t dilation = 1);
Tensor batch_norm(const Tensor& x, const Tensor& weight, const Tensor& bias, Tensor& running_mean,
                  Tensor& running_var, bool training, float momentum = 0.1f, float eps = 1e-5f);
Tensor max_pool2d(const Tensor& x, int64_t kernel, int64_t stride, int64_t padding = 0);
Tensor avg_pool2d(const Tensor& x, int64_t kernel, int64_t stride, int64_t padding = 0,
                  bool count_include_pad = true);
Tensor pool2d(const Tensor& x, const PoolParams& p);
Tensor global_avg_pool(const Tensor& x);  // (N, C, H, W) -> (N, C)
Tensor upsample_bilinear(const Tensor& x, int64_t out_h, int64_t out_w, bool align_corners = false);
// Inverted dropout (training only); the mask of one stream of `gen`. first_row > 0: x is rows
// [first_row, first_row + N) of a larger batch (a rank's share), and gets those rows' mask of
// the whole batch's draw.
Tensor dropout(const Tensor& x, float p, bool training, Generator& gen, int64_t first_row = 0);

// Counts the multiply-add FLOPs (2 per MAC) of the convolutions and matrix products run on
// this thread while it lives (forward passes; a training step costs about 3x its forward).
class FlopCounter {
 public:
  FlopCounter();
  ~FlopCounter();
  FlopCounter(const FlopCounter&) = delete;
  FlopCounter& operator=(const FlopCounter&) = delete;
  double flops() const { return flops_; }
  static void add(double flops);

 private:
  double flops_ = 0;
  FlopCounter* prev_;
};

// Memory layout chosen for convolution outputs (and thus for the activations of conv nets).
MemoryFormat preferred_conv_format();
void set_preferred_conv_format(MemoryFormat fmt);

// ---- softmax and losses (mean reduction unless stated) ----
Tensor softmax(const Tensor& x, int64_t dim = 1);
Tensor log_softmax(const Tensor& x, int64_t dim = 1);
// logits (N, C) or (N, C, H, W); target int64 (N) or (N, H, W). Mean over non-ignored items.
Tensor cross_entropy(const Tensor& logits, const Tensor& target, int64_t ignore_index = -100);
Tensor binary_cross_entropy(const Tensor& probs, const Tensor& target);
Tensor binary_cross_entropy_with_logits(const Tensor& logits, const Tensor& target);
Tensor mse_loss(const Tensor& input, const Tensor& target);
enum class KlReduction : uint8_t { sum, batch_mean, mean };
// KL(N(mu, exp(logvar)) || N(0, I)) = -0.5 sum(1 + logvar - mu^2 - exp(logvar)); batch_mean
// divides the sum by the batch size (dim 0), mean by the number of elements.
Tensor kl_normal(const Tensor& mu, const Tensor& logvar, KlReduction red = KlReduction::sum);
// z = mu + eps * exp(logvar / 2), eps ~ N(0, I) drawn from `gen`.
Tensor reparameterize(const Tensor& mu, const Tensor& logvar, Generator& gen);
// The same with the noise given: mu + eps * exp(logvar / 2).
Tensor reparameterize(const Tensor& mu, const Tensor& logvar, const Tensor& eps);

// ---- random tensors ----
Tensor randn(const Shape& shape, Generator& gen, Device device = Device::cpu);
Tensor rand(const Shape& shape, Generator& gen, Device device = Device::cpu);
void uniform_(Tensor& t, float lo, float hi, Generator& gen);
void normal_(Tensor& t, float mean, float std, Generator& gen);

}  // namespace sr
