// `sraal train`: train a classifier (ResNet-18) or a segmentation network (DRN-D-22) on a dataset
// (or a seeded subset of its training split), report test accuracy or mean IoU, and save the
// weights (with their model spec) as .safetensors. --init-from starts from saved weights (ours or
// a plain PyTorch state_dict).
//
// Segmentation (--task segmentation, or a segmentation dataset; default data fashion-seg) follows
// fyu/drn segment.py: SGD momentum 0.9, weight decay 1e-4, lr 0.01 with poly decay (power 0.9),
// random scale in [1/s, s], crop and flip applied to image and label map together, per-pixel
// cross-entropy ignoring 255; test mIoU after every epoch and per-class IoU at the end.
//
// Started by `mpirun -np K`, it trains data-parallel (sraal/train_classifier.h): the batch is the
// global one, shared by the K processes; --sync-bn computes batch-norm statistics over all of
// them, so that the run follows the one-process run of the same batch. Rank 0 saves the weights.
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <optional>

#include "app/commands.h"
#include "app/dataset_flags.h"
#include "data/dataset.h"
#include "engine/backend.h"
#include "engine/distributed.h"
#include "layers/layers.h"
#include "layers/model_zoo.h"
#include "sraal/run_files.h"
#include "sraal/segmentation_eval.h"
#include "sraal/train_classifier.h"

namespace sr::app {

namespace {
struct TrainArgs {
  std::string task = "auto", model, out = "model.safetensors", init_from;
  std::string device = "cpu";
  float width = 1.f;  // or the --init-from file's when not given
  CLI::Option* width_opt = nullptr;
  int64_t epochs = 15, batch = 0, subset = 0, val_size = 0;
  float lr = 0, momentum = 0.9f, weight_decay = -1, random_scale = 0;
  int64_t crop_padding = -1;
  bool no_flip = false, sync_bn = false;
  uint64_t seed = 0;
};

// The defaults that differ by task: ResNet-18 / batch 128 / lr 0.1 / wd 5e-4 / lr / 10 at 80%
// for classification, DRN-D-22 / batch 16 / lr 0.01 / wd 1e-4 / poly 0.9 / scale 1.5 for
// segmentation (fyu/drn segment.py's settings; its Cityscapes batch of 14 rounded to 16).
void apply_task_defaults(TrainArgs& a, bool seg, ClassifierTrainOptions& o) {
  if (a.model.empty()) a.model = seg ? "drn-d-22" : "resnet18";
  o.batch_size = a.batch > 0 ? a.batch : seg ? 16 : 128;
  o.lr = a.lr > 0 ? a.lr : seg ? 0.01f : 0.1f;
  o.weight_decay = a.weight_decay >= 0 ? a.weight_decay : seg ? 1e-4f : 5e-4f;
  o.momentum = a.momentum;
  if (seg) o.poly_power = 0.9f, o.ignore_index = 255;
}

void print_class_iou(const DatasetInfo& info, const SegEvalResult& ev) {
  std::printf("class IoU (%%):\n");
  for (int64_t c = 0; c < info.num_classes; ++c) {
    double v = ev.class_iou[size_t(c)];
    const std::string& name =
        size_t(c) < info.class_names.size() ? info.class_names[size_t(c)] : "";
    if (std::isnan(v))
      std::printf("  %2lld %-16s    —  (absent from truth and predictions)\n", (long long)c,
                  name.c_str());
    else
      std::printf("  %2lld %-16s %6.2f\n", (long long)c, name.c_str(), 100.0 * v);
  }
}
}  // namespace

Runner add_train(CLI::App& app) {
  auto a = std::make_shared<TrainArgs>();
  auto flags = std::make_shared<DatasetFlags>(app);
  app.add_option("--task", a->task,
                 "classification | segmentation (default: the dataset's; segmentation without "
                 "--dataset trains on fashion-seg)")
      ->capture_default_str();
  app.add_option("--model", a->model,
                 "resnet18 | resnet18-imagenet (classification, default resnet18) | drn-d-22 "
                 "(segmentation)");
  a->width_opt = app.add_option("--width", a->width,
                                "width multiplier of the ResNet stages or DRN channels (default "
                                "1, or the --init-from file's)");
  app.add_option("--init-from", a->init_from,
                 "start from these weights: a file saved by sraal, or a PyTorch state_dict saved "
                 "with safetensors.torch.save_file (its model told from the names and shapes); "
                 "its input channels and classes must be the dataset's");
  app.add_option("--epochs", a->epochs)->capture_default_str()->check(integer_in(1, kMaxEpochs));
  app.add_option("--batch-size", a->batch, "default 128 (classification), 16 (segmentation)")
      ->check(integer_in(2, kMaxBatch));
  app.add_option("--lr", a->lr,
                 "initial learning rate: default 0.1, divided by 10 at 80% of the epochs "
                 "(classification); 0.01 with poly decay (segmentation)")
      ->check(number_above(0, 1e30));
  app.add_option("--momentum", a->momentum)->capture_default_str();
  app.add_option("--weight-decay", a->weight_decay,
                 "default 5e-4 (classification), 1e-4 (segmentation)")
      ->check(number_above(-1e-30, 1));
  app.add_option("--random-scale", a->random_scale,
                 "segmentation: scale each training item by a random factor in [1/S, S] "
                 "(default 1.5; 1 = none)")
      ->check(number_above(0.999, 8));
  app.add_option("--val-size", a->val_size,
                 "hold out this many items of the training split and report accuracy on them "
                 "instead of the test split (for choosing hyper-parameters)")
      ->check(integer_in(0, INT64_MAX));
  app.add_option("--subset", a->subset, "train on this many items of the training split (0: all)")
      ->check(integer_in(0, INT64_MAX));
  app.add_option("--crop-padding", a->crop_padding,
                 "random-crop padding (default 4 for 32x32 images, 2 for 28x28, 0 otherwise)");
  app.add_flag("--no-flip", a->no_flip, "no random horizontal flips");
  app.add_flag("--sync-bn", a->sync_bn,
               "under mpirun: batch-norm statistics over every process's share of the batch (the "
               "one-process run's), instead of each process's own");
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
    const bool width_given = a->width_opt->count() > 0;
    SR_CHECK_VALUE(a->task == "auto" || a->task == "classification" || a->task == "segmentation",
                   "train: --task must be classification or segmentation, got '{}'", a->task);
    Device device = parse_device(a->device);
    require_device(device);
    const ProcessGroup& world = ProcessGroup::world();
    SR_CHECK_VALUE(world.size() == 1 || device == Device::cpu,
                   "train: data-parallel training over {} processes runs on the CPU (NCCL for "
                   "--device cuda is not built yet)",
                   world.size());
    DatasetOptions dopt = flags->options();
    if (a->task == "segmentation" && !flags->dataset_given()) dopt.name = "fashion-seg";
    DatasetSplits data = load_dataset(dopt);
    const DatasetInfo& info = data.train->info();
    const bool seg = info.segmentation;
    SR_CHECK_VALUE(a->task == "auto" || (a->task == "segmentation") == seg,
                   "train: --task {} does not fit {}, a {} dataset", a->task, info.name,
                   seg ? "segmentation" : "classification");
    std::optional<ModelFile> init;
    if (!a->init_from.empty()) {
      init = read_model_file(a->init_from, {a->model, info.height, info.width});
      const ModelSpec& f = init->spec;
      SR_CHECK_VALUE(!width_given || a->width == f.width_mult,
                     "train: --width {} differs from --init-from {}, a model of width {}", a->width,
                     a->init_from, f.width_mult);
      SR_CHECK_VALUE(f.in_channels == info.channels && f.num_classes == info.num_classes,
                     "train: --init-from {} is a {} of {} input channels and {} classes; {} has {} "
                     "and {}",
                     a->init_from, f.arch, f.in_channels, f.num_classes, info.name, info.channels,
                     info.num_classes);
      a->model = f.arch, a->width = f.width_mult;
    }
    ClassifierTrainOptions o;
    apply_task_defaults(*a, seg, o);
    ModelSpec spec;
    spec.arch = a->model;
    if (seg)
      SR_CHECK_VALUE(spec.arch == "drn-d-22", "train: segmentation trains drn-d-22, got '{}'",
                     spec.arch);
    else
      SR_CHECK_VALUE(spec.arch == "resnet18" || spec.arch == "resnet18-imagenet",
                     "train: --model must be resnet18 or resnet18-imagenet, got '{}'", spec.arch);
    SR_CHECK_VALUE(seg || a->random_scale == 0,
                   "train: --random-scale applies to segmentation, not to {}", info.name);
    spec.in_channels = info.channels, spec.height = info.height, spec.width = info.width;
    spec.num_classes = info.num_classes;
    spec.width_mult = a->width;
    Generator init_gen(a->seed);
    auto model = build_model(spec, init_gen, std::make_shared<Generator>(derive_seed(a->seed, 7)));
    if (init) load_weights(*model, *init, a->init_from);
    model->to(device);
    if (world.size() > 1) {
      world.check_same(fnv1a(fnv1a(kFnvBasis, data.train->fingerprint()), data.test->fingerprint()),
                       "the dataset (its fingerprint)");
      if (a->sync_bn) synchronise_batch_norm(*model, world.duplicate());
      o.group = &world;
    }

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
    const bool validating = !val.empty();
    const Dataset& eval_ds = validating ? *data.train : *data.test;
    const char* split = validating ? "validation" : "test";

    o.epochs = a->epochs, o.seed = a->seed, o.device = device;
    int64_t pad = a->crop_padding >= 0 ? a->crop_padding
                  : seg                ? 0
                  : info.height == 32  ? 4
                  : info.height == 28  ? 2
                                       : 0;
    o.augment = Augment{pad, !a->no_flip};
    if (seg) {
      float s = a->random_scale > 0 ? a->random_scale : 1.5f;
      o.augment.scale_min = 1.f / s, o.augment.scale_max = s;
    }
    std::printf("train: %s on %s (%lld of %lld training items, %lld %s), %lld parameters, %s\n",
                spec.arch.c_str(), info.name.c_str(), (long long)n, (long long)data.train->size(),
                (long long)(validating ? val.size() : size_t(data.test->size())), split,
                (long long)model->num_parameters(), device_name(device));
    if (world.size() > 1)
      std::printf("train: data-parallel over %d processes (%lld items a batch each), %s\n",
                  world.size(), (long long)(o.batch_size / world.size()),
                  a->sync_bn ? "batch norm synchronised" : "batch norm per process");
    SegEvalResult last;  // the evaluation after the last epoch is the final one
    o.on_epoch = [&](const EpochReport& r) {
      std::printf("epoch %lld/%lld  loss %.4f  lr %.4g  %.1f s  %.0f images/s", (long long)r.epoch,
                  (long long)r.epochs, r.loss, double(r.lr), r.seconds, r.images_per_sec);
      if (seg) {
        last = evaluate_segmentation(*model, eval_ds, val, 64, device, &world);
        std::printf("  %s mIoU %.2f%%", split, 100.0 * last.miou);
      }
      std::printf("\n");
      std::fflush(stdout);
    };
    TrainResult tr = train_classifier(*model, *data.train, pool, o);
    if (seg) {
      const SegEvalResult& ev = last;
      std::printf(
          "%s mIoU %.2f%%  pixel accuracy %.2f%%  %s loss %.4f  (train %.1f s, %lld steps)\n",
          split, 100.0 * ev.miou, 100.0 * ev.pixel_accuracy, split, ev.loss, tr.seconds,
          (long long)tr.steps);
      print_class_iou(info, ev);
    } else {
      EvalResult ev = validating
                          ? evaluate_classifier(*model, *data.train, val, 256, device, &world)
                          : evaluate_classifier(*model, *data.test, 256, device, &world);
      std::printf("%s accuracy %.2f%%  %s loss %.4f  (train %.1f s, %lld steps)\n", split,
                  100.0 * ev.accuracy, split, ev.loss, tr.seconds, (long long)tr.steps);
    }
    model->to(Device::cpu);
    // How the inputs were prepared travels with the weights (`predict --raw` reads it).
    Preprocess pre{info.name,
                   info.channels,
                   info.height,
                   info.width,
                   data.train->norm_mean(),
                   data.train->norm_std(),
                   info.class_names,
                   seg};
    if (world.is_root()) {
      save_model(a->out, *model, spec, pre);
      std::printf("saved %s\n", a->out.c_str());
    }
    return 0;
  };
}

}  // namespace sr::app
