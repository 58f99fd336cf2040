// `sraal train`: train a classifier on a dataset (or a seeded subset of its training split),
// report test accuracy, and save the weights (with their model spec) as .safetensors.
#include <cmath>
#include <cstdio>
#include <filesystem>

#include "app/commands.h"
#include "app/dataset_flags.h"
#include "data/dataset.h"
#include "engine/backend.h"
#include "layers/model_zoo.h"
#include "sraal/train_classifier.h"

namespace sr::app {

namespace {
struct TrainArgs {
  std::string model = "resnet18", out = "model.safetensors";
  std::string device = "cpu";
  float width = 1.f;
  int64_t epochs = 15, batch = 128, subset = 0, val_size = 0;
  float lr = 0.1f, momentum = 0.9f, weight_decay = 5e-4f;
  int64_t crop_padding = -1;
  bool no_flip = false;
  uint64_t seed = 0;
};
}  // namespace

Runner add_train(CLI::App& app) {
  auto a = std::make_shared<TrainArgs>();
  auto flags = std::make_shared<DatasetFlags>(app);
  app.add_option("--model", a->model, "resnet18 | resnet18-imagenet")->capture_default_str();
  app.add_option("--width", a->width, "width multiplier of the ResNet stages")
      ->capture_default_str();
  app.add_option("--epochs", a->epochs)->capture_default_str()->check(integer_in(1, kMaxEpochs));
  app.add_option("--batch-size", a->batch)->capture_default_str()->check(integer_in(2, kMaxBatch));
  app.add_option("--lr", a->lr, "initial learning rate (divided by 10 at 80% of the epochs)")
      ->capture_default_str()
      ->check(number_above(0, 1e30));
  app.add_option("--momentum", a->momentum)->capture_default_str();
  app.add_option("--weight-decay", a->weight_decay)->capture_default_str();
  app.add_option("--val-size", a->val_size,
                 "hold out this many items of the training split and report accuracy on them "
                 "instead of the test split (for choosing hyper-parameters)")
      ->check(integer_in(0, INT64_MAX));
  app.add_option("--subset", a->subset, "train on this many items of the training split (0: all)")
      ->check(integer_in(0, INT64_MAX));
  app.add_option("--crop-padding", a->crop_padding,
                 "random-crop padding (default 4 for 32x32 images, 2 for 28x28, 0 otherwise)");
  app.add_flag("--no-flip", a->no_flip, "no random horizontal flips");
  app.add_option("--seed", a->seed)->capture_default_str()->check(seed_value());
  app.add_option("--device", a->device, "cpu | cuda")->capture_default_str();
  app.add_option("--out", a->out, "where to save the weights")->capture_default_str();
  return [a, flags] {
    // Checked before any work: training for an hour and then failing to save is no answer.
    std::filesystem::path out_dir = std::filesystem::path(a->out).parent_path();
    SR_CHECK_IO(out_dir.empty() || std::filesystem::is_directory(out_dir),
                "train: --out {}: directory {} does not exist", a->out, out_dir.string());
    SR_CHECK_VALUE(std::isfinite(a->width) && a->width > 0.f && a->width <= 16.f,
                   "train: --width must be in (0, 16], got {}", a->width);
    Device device = parse_device(a->device);
    require_device(device);
    DatasetSplits data = load_dataset(flags->options());
    const DatasetInfo& info = data.train->info();
    SR_CHECK_VALUE(!info.segmentation,
                   "train: {} is a segmentation dataset; `sraal train` trains classifiers",
                   info.name);
    ModelSpec spec;
    spec.arch = a->model;
    SR_CHECK_VALUE(spec.arch == "resnet18" || spec.arch == "resnet18-imagenet",
                   "train: --model must be resnet18 or resnet18-imagenet, got '{}'", spec.arch);
    spec.in_channels = info.channels, spec.height = info.height, spec.width = info.width;
    spec.num_classes = info.num_classes;
    spec.width_mult = a->width;
    Generator init(a->seed);
    auto model = build_model(spec, init, std::make_shared<Generator>(derive_seed(a->seed, 7)));
    model->to(device);

    std::vector<int64_t> pool;
    Generator pick(derive_seed(a->seed, 11));
    std::vector<int64_t> perm = pick.permutation(data.train->size());
    // The validation items are the end of the permutation, the training items its start.
    int64_t available = data.train->size() - a->val_size;
    SR_CHECK_VALUE(available > 0, "train: --val-size {} leaves no training items of {}",
                   a->val_size, data.train->size());
    int64_t n = a->subset > 0 ? std::min(a->subset, available) : available;
    pool.assign(perm.begin(), perm.begin() + n);
    std::vector<int64_t> val(perm.end() - a->val_size, perm.end());

    ClassifierTrainOptions o;
    o.epochs = a->epochs, o.batch_size = a->batch, o.lr = a->lr, o.momentum = a->momentum;
    o.weight_decay = a->weight_decay, o.seed = a->seed, o.device = device;
    int64_t pad = a->crop_padding >= 0 ? a->crop_padding
                  : info.height == 32  ? 4
                  : info.height == 28  ? 2
                                       : 0;
    o.augment = Augment{pad, !a->no_flip};
    std::printf("train: %s on %s (%lld of %lld training items, %lld test), %lld parameters, %s\n",
                spec.arch.c_str(), info.name.c_str(), (long long)n, (long long)data.train->size(),
                (long long)data.test->size(), (long long)model->num_parameters(),
                device_name(device));
    o.on_epoch = [](const EpochReport& r) {
      std::printf("epoch %lld/%lld  loss %.4f  lr %.4g  %.1f s  %.0f images/s\n",
                  (long long)r.epoch, (long long)r.epochs, r.loss, double(r.lr), r.seconds,
                  r.images_per_sec);
      std::fflush(stdout);
    };
    TrainResult tr = train_classifier(*model, *data.train, pool, o);
    bool validating = !val.empty();
    EvalResult ev = validating ? evaluate_classifier(*model, *data.train, val, 256, device)
                               : evaluate_classifier(*model, *data.test, 256, device);
    std::printf("%s accuracy %.2f%%  %s loss %.4f  (train %.1f s, %lld steps)\n",
                validating ? "validation" : "test", 100.0 * ev.accuracy,
                validating ? "validation" : "test", ev.loss, tr.seconds, (long long)tr.steps);
    model->to(Device::cpu);
    save_model(a->out, *model, spec);
    std::printf("saved %s\n", a->out.c_str());
    return 0;
  };
}

}  // namespace sr::app
