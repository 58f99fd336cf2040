// `sraal predict`: load a model saved by sraal (weights + spec in one .safetensors file), run it
// in eval mode on an .npy batch (N, C, H, W) float32, and write its outputs as .npy:
// classifiers give logits (or probabilities with --probs), DRN-D-22 per-pixel logits (N, classes,
// H, W) (or probabilities), the discriminator its state
// probability, the VAE and the SRAAL generator the latent means.
#include <cstdio>

#include "app/commands.h"
#include "engine/autograd.h"
#include "engine/backend.h"
#include "engine/ops.h"
#include "engine/serialize.h"
#include "layers/model_zoo.h"
#include "layers/vae.h"

namespace sr::app {

Runner add_predict(CLI::App& app) {
  struct Args {
    std::string weights, input, output, device = "cpu";
    bool probs = false;
    int64_t batch = 256;
  };
  auto a = std::make_shared<Args>();
  app.add_option("--weights", a->weights, "model saved by `sraal train` (.safetensors)")
      ->required();
  app.add_option("--input", a->input, "input batch, .npy float32 (N, C, H, W)")->required();
  app.add_option("--output", a->output, "where to write the outputs (.npy)")->required();
  app.add_flag(
      "--probs", a->probs,
      "classifiers and DRN: write softmax probabilities (per pixel for DRN) instead of logits");
  app.add_option("--batch-size", a->batch, "items per forward pass")
      ->capture_default_str()
      ->check(integer_in(1, kMaxBatch));
  app.add_option("--device", a->device, "cpu | cuda")->capture_default_str();
  return [a] {
    Device device = parse_device(a->device);
    require_device(device);
    auto [model, spec] = load_model(a->weights);
    Tensor x = load_npy(a->input);
    SR_CHECK_DTYPE(x.dtype() == DType::f32, "{}: input must be float32, got {}", a->input,
                   dtype_name(x.dtype()));
    bool vector_input = spec.arch == "discriminator";
    const bool resnet = spec.arch.rfind("resnet", 0) == 0, drn = spec.arch == "drn-d-22";
    if (vector_input) {
      SR_CHECK_SHAPE(x.dim() == 2 && x.size(1) == spec.z_dim,
                     "{}: the discriminator takes (N, {}) latents, got {}", a->input, spec.z_dim,
                     shape_str(x.shape()));
    } else {
      SR_CHECK_SHAPE(x.dim() == 4 && x.size(1) == spec.in_channels &&
                         (resnet || (x.size(2) == spec.height && x.size(3) == spec.width) ||
                          (drn && x.size(2) % 8 == 0 && x.size(3) % 8 == 0)),
                     "{}: model {} takes (N, {}, {}, {}) images{}, got {}", a->input, spec.arch,
                     spec.in_channels, spec.height, spec.width,
                     drn ? " (or any H and W that are multiples of 8)" : "", shape_str(x.shape()));
    }
    model->to(device);
    model->eval();
    NoGradGuard ng;
    std::vector<Tensor> outs;
    for (int64_t s = 0; s < x.size(0); s += a->batch) {
      Tensor xb = x.narrow(0, s, std::min(a->batch, x.size(0) - s)).contiguous().to(device);
      Tensor y;
      if (auto* vae = dynamic_cast<Vae*>(model.get()))
        y = vae->encode(xb).first;
      else
        y = model->forward(xb);
      if (a->probs && (resnet || drn)) y = softmax(y, 1);  // per pixel for DRN
      outs.push_back(y.to(Device::cpu));
    }
    Tensor y = outs.empty() ? Tensor::zeros({0}) : concat(outs, 0);
    save_npy(a->output, y);
    std::printf("predict: %s %s -> %s %s\n", a->input.c_str(), shape_str(x.shape()).c_str(),
                a->output.c_str(), shape_str(y.shape()).c_str());
    return 0;
  };
}

}  // namespace sr::app
