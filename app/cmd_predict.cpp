// `sraal predict`: load a model (a .safetensors file saved by sraal, weights + spec, or a plain
// PyTorch state_dict saved with safetensors.torch.save_file, its model told from the tensor
// names and shapes or given by --arch), run it in eval mode on an .npy batch (N, C, H, W)
// float32 (or, with --raw, uint8 images normalised as training did: app/raw_input.h), and write
// its outputs as .npy: classifiers give logits (or probabilities with --probs), DRN-D-22
// per-pixel logits (N, classes, H, W) (or probabilities), the discriminator its state
// probability, the VAE and the SRAAL generator the latent means.
#include <cstdio>

#include "app/commands.h"
#include "app/raw_input.h"
#include "engine/autograd.h"
#include "engine/backend.h"
#include "engine/ops.h"
#include "engine/serialize.h"
#include "layers/model_zoo.h"
#include "layers/vae.h"

namespace sr::app {

Runner add_predict(CLI::App& app) {
  struct Args {
    std::string weights, input, output, device = "cpu", arch;
    bool probs = false, raw = false;
    int64_t batch = 256;
  };
  auto a = std::make_shared<Args>();
  app.add_option("--weights", a->weights,
                 "model saved by `sraal train`, or a PyTorch state_dict saved with "
                 "safetensors.torch.save_file (.safetensors)")
      ->required();
  app.add_option("--arch", a->arch,
                 "for a plain state_dict: resnet18 | resnet18-imagenet | drn-d-22 | vae | "
                 "sraal-generator | discriminator (default: told from the tensor names)");
  app.add_option("--input", a->input,
                 "input batch, .npy float32 (N, C, H, W), normalised as in training; with --raw "
                 "uint8 pixels: a .npy (N, C, H, W), an image file or a folder of images")
      ->required();
  app.add_flag("--raw", a->raw,
               "the input is raw pixels: normalise them with the training split's mean/std and "
               "resize images to the training size, as stored in the weights by `sraal train`");
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
    Tensor x;
    ModelFile file;
    std::vector<std::string> sources;
    if (a->raw) {
      file = read_model_file(a->weights, {a->arch});
      SR_CHECK_IO(file.preprocess.has_value(),
                  "{}: --raw needs the preprocessing `sraal train` stores with the weights "
                  "(this file has none: normalise the input yourself and drop --raw)",
                  a->weights);
      const std::string& arch = file.spec.arch;
      RawInput in = load_raw_input(a->input, *file.preprocess,
                                   arch.rfind("resnet", 0) == 0 || arch == "drn-d-22");
      x = in.images, sources = std::move(in.sources);
    } else {
      x = load_npy(a->input);
      SR_CHECK_DTYPE(x.dtype() == DType::f32, "{}: input must be float32, got {}", a->input,
                     dtype_name(x.dtype()));
      // A plain VAE state dict does not hold its image size: the input's is used.
      file = read_model_file(a->weights,
                             {a->arch, x.dim() == 4 ? x.size(2) : 0, x.dim() == 4 ? x.size(3) : 0});
    }
    const ModelSpec& spec = file.spec;
    Generator init(0);
    std::shared_ptr<Module> model = build_model(spec, init, std::make_shared<Generator>(0));
    load_weights(*model, file, a->weights);
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
    std::printf("predict: %s %s%s -> %s %s\n", a->input.c_str(), shape_str(x.shape()).c_str(),
                sources.size() > 1 ? " (its images sorted by name)" : "", a->output.c_str(),
                shape_str(y.shape()).c_str());
    return 0;
  };
}

}  // namespace sr::app
