// VAAL's VAE, the SRAAL generator and the state discriminator (see vae.h).
//
// Init follows VAAL's released code (kaiming_init below).
#include "layers/vae.h"

#include <cmath>

#include "engine/ops.h"

namespace sr {

namespace {

int64_t conv_out(int64_t n) {
  return (n + 2 - 4) / 2 + 1;
}  // 4x4, stride 2, padding 1

// VAAL's kaiming_init: Conv2d and Linear weights kaiming_normal (fan_in), biases 0; BatchNorm
// weight 1, bias 0; transposed convolutions keep PyTorch's default initialisation.
void kaiming_init(Module& m, Generator& gen) {
  if (auto* c = dynamic_cast<Conv2d*>(&m)) {
    init_kaiming_normal(c->weight, fan_in_of(c->weight), gen);
    if (c->bias.defined()) c->bias.zero_();
  } else if (auto* l = dynamic_cast<Linear*>(&m)) {
    init_kaiming_normal(l->weight, fan_in_of(l->weight), gen);
    if (l->bias.defined()) l->bias.zero_();
  } else if (auto* bn = dynamic_cast<BatchNorm2d*>(&m)) {
    bn->weight.fill_(1.0);
    bn->bias.zero_();
  }
  for (auto& [name, child] : m.children()) kaiming_init(*child, gen);
}

}  // namespace

VaeConfig resolve_vae_config(VaeConfig cfg) {
  SR_CHECK_VALUE(
      cfg.in_channels > 0 && cfg.height > 0 && cfg.width > 0 && cfg.z_dim > 0 && cfg.base_width > 0,
      "VAE: channels {}, size {}x{}, z_dim {} and base width {} must be positive", cfg.in_channels,
      cfg.height, cfg.width, cfg.z_dim, cfg.base_width);
  int64_t small = std::min(cfg.height, cfg.width), big = std::max(cfg.height, cfg.width);
  if (cfg.encoder_stages == 0)
    cfg.encoder_stages =
        std::max<int64_t>(4, int64_t(std::ceil(std::log2(double(small) / 2.0) - 1e-9)));
  if (cfg.decoder_stages == 0) {
    // VAAL: 3 stages from 4x4 for 32x32. Prefer an exact start of at most 8 pixels.
    for (int64_t L = 3; L >= 1 && cfg.decoder_stages == 0; --L) {
      int64_t f = int64_t(1) << L;
      if (cfg.height % f == 0 && cfg.width % f == 0 && big / f <= 8) cfg.decoder_stages = L;
    }
    if (cfg.decoder_stages == 0)
      cfg.decoder_stages = std::max<int64_t>(1, int64_t(std::ceil(std::log2(double(big) / 4.0))));
  }
  return cfg;
}

Vae::Vae(const VaeConfig& cfg_in, Generator& gen, std::shared_ptr<Generator> noise,
         bool split_latent)
    : cfg_(resolve_vae_config(cfg_in)), split_latent_(split_latent), noise_(std::move(noise)) {
  SR_CHECK_VALUE(!split_latent || cfg_.z_dim % 2 == 0,
                 "SRAAL generator: z_dim {} must be even (it is split in halves)", cfg_.z_dim);
  const int64_t top = cfg_.base_width * 8;

  encoder_ = register_module("encoder", std::make_shared<Sequential>());
  int64_t c = cfg_.in_channels, h = cfg_.height, w = cfg_.width;
  for (int64_t i = 0; i < cfg_.encoder_stages; ++i) {
    int64_t out = std::min(cfg_.base_width << std::min<int64_t>(i, 3), top);
    SR_CHECK_SHAPE(h >= 2 && w >= 2, "VAE: {} encoder stages shrink {}x{} below 1 pixel",
                   cfg_.encoder_stages, cfg_.height, cfg_.width);
    encoder_->add(std::make_shared<Conv2d>(Conv2dOptions{c, out, 4, 2, 1, 1, false}, gen));
    encoder_->add(std::make_shared<BatchNorm2d>(out));
    encoder_->add(std::make_shared<ReLU>());
    c = out, h = conv_out(h), w = conv_out(w);
  }
  int64_t flat = c * h * w;
  encoder_->add(std::make_shared<View>(Shape{flat}));
  fc_mu_ = register_module("fc_mu", std::make_shared<Linear>(flat, cfg_.z_dim, gen));
  fc_logvar_ = register_module("fc_logvar", std::make_shared<Linear>(flat, cfg_.z_dim, gen));

  int64_t f = int64_t(1) << cfg_.decoder_stages;
  s0h_ = (cfg_.height + f - 1) / f;
  s0w_ = (cfg_.width + f - 1) / f;
  int64_t z_in = split_latent_ ? cfg_.z_dim / 2 : cfg_.z_dim;
  decoder_ = register_module("decoder", make_decoder(z_in, cfg_.in_channels, gen));

  if (split_latent_ && cfg_.num_classes > 0 && cfg_.dense_classifier) {
    classifier_ =
        register_module("classifier", make_decoder(cfg_.z_dim / 2, cfg_.num_classes, gen));
  } else if (split_latent_ && cfg_.num_classes > 0) {
    classifier_ = register_module("classifier", std::make_shared<Sequential>());
    int64_t in = cfg_.z_dim / 2;
    for (int64_t hidden : cfg_.classifier_hidden) {
      classifier_->add(std::make_shared<Linear>(in, hidden, gen));
      classifier_->add(std::make_shared<ReLU>());
      in = hidden;
    }
    classifier_->add(std::make_shared<Linear>(in, cfg_.num_classes, gen));
  }
  kaiming_init(*this, gen);
}

std::shared_ptr<Sequential> Vae::make_decoder(int64_t z_in, int64_t out_channels, Generator& gen) {
  const int64_t top = cfg_.base_width * 8;
  auto d = std::make_shared<Sequential>();
  d->add(std::make_shared<Linear>(z_in, top * s0h_ * s0w_, gen));
  d->add(std::make_shared<View>(Shape{top, s0h_, s0w_}));
  int64_t c = top;
  for (int64_t i = 0; i < cfg_.decoder_stages; ++i) {
    int64_t out = std::max<int64_t>(1, c / 2);
    d->add(std::make_shared<ConvTranspose2d>(ConvTranspose2dOptions{c, out, 4, 2, 1, 0, 1, false},
                                             gen));
    d->add(std::make_shared<BatchNorm2d>(out));
    d->add(std::make_shared<ReLU>());
    c = out;
  }
  d->add(std::make_shared<ConvTranspose2d>(
      ConvTranspose2dOptions{c, out_channels, 1, 1, 0, 0, 1, true}, gen));
  return d;
}

Tensor Vae::to_image_size(Tensor r) const {
  if (r.size(2) != cfg_.height || r.size(3) != cfg_.width)
    r = upsample_bilinear(r, cfg_.height, cfg_.width);
  return r;
}

std::pair<Tensor, Tensor> Vae::encode(const Tensor& x) {
  SR_CHECK_SHAPE(x.dim() == 4 && x.size(1) == cfg_.in_channels && x.size(2) == cfg_.height &&
                     x.size(3) == cfg_.width,
                 "{}: expected input (N, {}, {}, {}), got {}", type_name(), cfg_.in_channels,
                 cfg_.height, cfg_.width, shape_str(x.shape()));
  Tensor h = encoder_->forward(x);
  return {fc_mu_->forward(h), fc_logvar_->forward(h)};
}

Tensor Vae::decode(const Tensor& z_dec) {
  return to_image_size(decoder_->forward(z_dec));
}

Tensor Vae::classify(const Tensor& z_stl) {
  SR_CHECK_VALUE(classifier_ != nullptr, "{}: this model has no STL classifier", type_name());
  Tensor out = classifier_->forward(z_stl);
  return cfg_.dense_classifier ? to_image_size(std::move(out)) : out;
}

VaeOutput Vae::forward_all(const Tensor& x) {
  VaeOutput o;
  std::tie(o.mu, o.logvar) = encode(x);
  if (share_rows() > 0) {
    const int64_t n = o.mu.size(0);
    check_share(n, type_name());
    Tensor eps = randn({share_rows(), o.mu.size(1)}, *noise_, o.mu.device());
    o.z = reparameterize(o.mu, o.logvar, eps.narrow(0, share_offset(), n));
  } else {
    o.z = reparameterize(o.mu, o.logvar, *noise_);
  }
  if (split_latent_) {
    int64_t half = cfg_.z_dim / 2;
    std::vector<Tensor> parts = split(o.z, {half, half}, 1);
    o.recon = decode(parts[0]);
    if (classifier_) o.logits = classify(parts[1]);
  } else {
    o.recon = decode(o.z);
  }
  return o;
}

std::shared_ptr<Vae> make_sraal_generator(const VaeConfig& cfg, Generator& gen,
                                          std::shared_ptr<Generator> noise) {
  return std::make_shared<Vae>(cfg, gen, std::move(noise), /*split_latent=*/true);
}

Discriminator::Discriminator(int64_t z_dim, int64_t width, int64_t depth, Generator& gen) {
  SR_CHECK_VALUE(z_dim > 0 && width > 0 && depth >= 1,
                 "Discriminator: z_dim {}, width {} and depth {} must be positive", z_dim, width,
                 depth);
  net_ = register_module("net", std::make_shared<Sequential>());
  int64_t in = z_dim;
  for (int64_t i = 0; i < depth; ++i) {
    net_->add(std::make_shared<Linear>(in, width, gen));
    net_->add(std::make_shared<ReLU>());
    in = width;
  }
  net_->add(std::make_shared<Linear>(in, 1, gen));
  kaiming_init(*this, gen);
}

Tensor Discriminator::logits(const Tensor& z) {
  return net_->forward(z);
}

}  // namespace sr
