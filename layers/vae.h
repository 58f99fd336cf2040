// The VAE of VAAL (Sinha et al. 2019) and the SRAAL generator built from the same parts, with
// the parameter names of VAAL's released code (encoder.0, fc_mu, decoder.2, ...).
//
// Encoder: `encoder_stages` x [4x4 stride-2 conv (no bias), BatchNorm, ReLU] with widths
//   base, 2 base, 4 base, 8 base (capped at 8 base), flattened; fc_mu and fc_logvar map it to
//   the latent of size z_dim.
// Decoder: Linear(z_in, 8 base * s0h * s0w), view as (8 base, s0h, s0w), `decoder_stages` x
//   [4x4 stride-2 transposed conv (no bias), BatchNorm, ReLU] halving the width, then a 1x1
//   transposed conv to the image channels (no output activation). When s0 * 2^stages differs
//   from the image size the result is resized bilinearly to it.
// For 32x32 with base 128 this is exactly VAAL's model (encoder 128/256/512/1024, decoder from
// 1024x4x4); for 28x28 the decoder starts at 7x7 with two stages.
//
// The SRAAL generator (Zhang et al. 2020) splits the latent: the first z_dim/2 entries (z_UIR)
// feed the decoder (unsupervised image reconstructor), the last z_dim/2 (z_STL) feed the
// `classifier` MLP z_dim/2 -> 1024 -> 256 -> classes (supervised target learner). For
// segmentation (dense_classifier) the STL's decoder is "a segmentation model" (paper section
// 3.2): `classifier` is then a second decoder of the reconstruction decoder's form from z_STL,
// with `classes` output channels: per-pixel logits (N, classes, H, W).
#pragma once

#include <memory>
#include <vector>

#include "layers/batch_share.h"
#include "layers/layers.h"

namespace sr {

struct VaeConfig {
  int64_t in_channels = 3;
  int64_t height = 32, width = 32;
  int64_t z_dim = 32;
  int64_t base_width = 128;
  int64_t encoder_stages = 0;  // 0: chosen from the image size
  int64_t decoder_stages = 0;  // 0: chosen from the image size
  // SRAAL generator only.
  int64_t num_classes = 0;  // > 0 adds the STL classifier on z_STL
  std::vector<int64_t> classifier_hidden = {1024, 256};
  bool dense_classifier = false;  // segmentation: the STL decodes z_STL to per-pixel logits
};

// Fills the 0 stage counts from the image size (VAAL's layout for 32x32).
VaeConfig resolve_vae_config(VaeConfig cfg);

struct VaeOutput {
  Tensor recon;   // (N, C, H, W)
  Tensor z;       // sampled latent (N, z_dim)
  Tensor mu;      // (N, z_dim)
  Tensor logvar;  // (N, z_dim)
  Tensor logits;  // STL logits (N, classes), or (N, classes, H, W) with dense_classifier
};

class Vae : public Module, public BatchShare {
 public:
  // `split_latent`: decode from the first half of the latent (SRAAL's z_UIR) instead of all.
  Vae(const VaeConfig& cfg, Generator& gen, std::shared_ptr<Generator> noise,
      bool split_latent = false);
  // Encoder + heads: (mu, logvar).
  std::pair<Tensor, Tensor> encode(const Tensor& x);
  Tensor decode(const Tensor& z_dec);
  // STL logits from z_STL (the SRAAL generator with a classifier only).
  Tensor classify(const Tensor& z_stl);
  bool has_classifier() const { return classifier_ != nullptr; }
  // encode, reparameterise, decode (and classify for the SRAAL generator).
  VaeOutput forward_all(const Tensor& x);
  Tensor forward(const Tensor& x) override { return forward_all(x).recon; }
  std::string type_name() const override { return split_latent_ ? "SraalGenerator" : "Vae"; }
  const VaeConfig& config() const { return cfg_; }
  // Under set_batch_share (layers/batch_share.h) the reparameterisation noise is drawn for the
  // whole shared batch and sliced, so that each item gets the noise one process gives it.

 private:
  VaeConfig cfg_;
  bool split_latent_;
  std::shared_ptr<Generator> noise_;
  int64_t s0h_ = 0, s0w_ = 0;
  // Linear(z_in -> 8 base x s0h x s0w), the transposed-conv stages, 1x1 to out_channels.
  std::shared_ptr<Sequential> make_decoder(int64_t z_in, int64_t out_channels, Generator& gen);
  Tensor to_image_size(Tensor r) const;  // bilinear to H x W when the decoder's size differs
  std::shared_ptr<Sequential> encoder_, decoder_, classifier_;
  std::shared_ptr<Linear> fc_mu_, fc_logvar_;
};

// SRAAL's generator: a Vae with split latent and (when num_classes > 0) the STL classifier.
std::shared_ptr<Vae> make_sraal_generator(const VaeConfig& cfg, Generator& gen,
                                          std::shared_ptr<Generator> noise);

// The state discriminator: MLP z_dim -> width x depth (ReLU) -> 1; names net.0, net.2, ...
// forward() gives the probability of the unlabeled state; logits() the value before sigmoid.
class Discriminator : public Module {
 public:
  Discriminator(int64_t z_dim, int64_t width, int64_t depth, Generator& gen);
  Tensor logits(const Tensor& z);
  Tensor forward(const Tensor& z) override { return sigmoid(logits(z)); }
  std::string type_name() const override { return "Discriminator"; }

 private:
  std::shared_ptr<Sequential> net_;
};

}  // namespace sr
