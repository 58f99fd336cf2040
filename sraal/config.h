// The configuration of an active-learning experiment (`sraal run`), its presets, validation and
// JSON form (written into manifest.json and the resume state).
//
// Presets:
//   quick  SRAAL vs random, one trial, a 3,000-image subset of the training split as the pool,
//          the whole test split, small models and few epochs: minutes on a 2-core CPU (the
//          default).
//   cpu    SPEC section 6's protocol (10% to 40% by 5%, 3 trials) for SRAAL, VAAL and random,
//          with pool, widths and epochs reduced to finish within an hour on 2 cores.
//   baselines  the cpu preset's scale for every baseline of the paper and BADGE beside SRAAL and
//          VAAL, 5 trials (63 min on 2 AVX-512 Xeon cores; docs/RESULTS.md).
//   paper  the settings of SPEC sections 3 and 6 (full pool, ResNet-18, 200 epochs, 20,000
//          adversarial iterations at batch 250): meant for a GPU.
// Segmentation (task segmentation, DRN-D-22, metric mIoU):
//   seg-quick  SRAAL vs random on fashion-seg, one trial: minutes on a 2-core CPU.
//   seg-cpu    random, core-set, MC-Dropout, QBC, SA, VAAL and SRAAL, 10% to 40% by 5%, 3
//              trials, within 2.5 hours on 2 cores.
//   seg-paper  Cityscapes, DRN-D-22 at fyu/drn's settings, the paper's protocol: for a GPU.
// Every reduction from the paper settings is listed by `reductions()` and written into
// manifest.json and summary.md.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "data/dataset.h"
#include "engine/math/selection_math.h"
#include "engine/ops.h"
#include "engine/types.h"

namespace sr {

// What the experiment's target model does; a dataset is one or the other (DatasetInfo).
enum class Task { classification, segmentation };
const char* task_name(Task t);
// ValueError naming the text unless it is "classification" or "segmentation".
Task parse_task(const std::string& text);

struct TargetConfig {
  std::string arch = "resnet18";  // resnet18 | resnet18-imagenet (classification), drn-d-22
  float width = 1.f;
  int64_t epochs = 200, batch = 128;
  float lr = 0.1f, momentum = 0.9f, weight_decay = 5e-4f;
  std::vector<double> milestones = {0.8};  // fractions of the epochs where lr is divided by 10
  int64_t crop_padding = -1;               // -1: 4 for 32x32 images, 2 for 28x28, else 0
  bool hflip = true;
  // Segmentation (fyu/drn segment.py): lr * (1 - epoch / epochs)^poly_power when > 0 instead of
  // the milestones, and each training item scaled by a random factor in [1/s, s] (1: none).
  float poly_power = 0.f;
  float random_scale = 1.f;
};

// The adversarial representation learning of SRAAL and VAAL (SPEC section 3).
struct AdversarialConfig {
  int64_t iterations = 20000;  // per cycle
  int64_t batch = 250;         // labeled and unlabeled batches each
  int64_t z_dim = 64;          // SRAAL (split in halves); VAAL uses vaal_z_dim
  int64_t vaal_z_dim = 32;
  int64_t base_width = 128;                  // encoder widths base..8 base
  int64_t disc_width = 512, disc_depth = 4;  // SRAAL's discriminator
  int64_t vaal_disc_width = 512, vaal_disc_depth = 2;
  float lr = 5e-4f;
  float lr_decay = 0.85f;        // multiplied every lr_decay_every iterations
  int64_t lr_decay_every = 666;  // iterations (paper: 20,000 / 30)
  int64_t g_steps = 2, d_steps = 1;
  // SRAAL's generator loss (the released code): KL averaged over the batch. VAAL keeps its own
  // (strategy_vaal.cpp: MSE weight 1, beta KL summed over batch and latent).
  float recon_weight = 5.f, kl_weight = 1.f, stl_weight = 5.f, adv_weight = 1.f;
  KlReduction kl_reduction = KlReduction::batch_mean;
  // The state the generator's adversarial loss pushes every sample towards (Eq. 6): 0, the
  // labeled state (the paper and SPEC); SRAAL's released code uses 1 (its `sraal` method option
  // generator_target=unlabeled, docs/SRAAL.md).
  float generator_target = 0.f;
  std::vector<int64_t> stl_hidden = {1024, 256};
  ScoreKind relabeler = ScoreKind::indicator;  // for SRAAL's online uncertainty indicator
  IndicatorScaling scaling = IndicatorScaling::population;
};

// k-center initialisation (SPEC section 4): a VAE trained on the whole pool without labels.
struct KCenterConfig {
  int64_t iterations = 20000, batch = 250;
  int64_t z_dim = 32, base_width = 128;
  float lr = 5e-4f;
  int64_t random_starts = 0;  // 0: max(1, M / 100)
};

struct ExperimentConfig {
  std::string preset = "quick";
  Task task = Task::classification;  // must match the dataset's kind
  DatasetOptions data;
  int64_t pool_size = 0;  // items of the training split forming the AL pool (0: all)
  int64_t test_size = 0;  // items of the test split used for the metric (0: all)
  // > 0: the metric is measured on this many items of the training split held out of the pool
  // (a validation split, for choosing settings) and the test split is not read for it.
  int64_t val_size = 0;
  std::vector<std::string> methods = {"sraal", "random"};
  // Options of the methods, beyond their defaults: {"mc-dropout": {"passes": 20}, ...}
  // (sraal/strategy.h; `sraal run --method-option M.KEY=VALUE`).
  nlohmann::json method_options = nlohmann::json::object();
  std::string init = "random";  // random | kcenter
  double initial_fraction = 0.10, step_fraction = 0.05, final_fraction = 0.40;
  int64_t trials = 1;
  uint64_t seed = 0;
  std::string device = "cpu";
  int loader_workers = 1;
  TargetConfig target;
  AdversarialConfig adversarial;
  KCenterConfig kcenter;
};

// The preset's configuration; throws ValueError for an unknown preset name.
ExperimentConfig preset_config(const std::string& name);
const std::vector<std::string>& preset_names();
// The segmentation preset of the same scale: quick -> seg-quick, cpu -> seg-cpu, paper ->
// seg-paper (a seg- preset stays itself); ValueError for a preset without one.
std::string segmentation_preset(const std::string& name);
// The labeled fractions measured (initial, initial + step, ..., final), and the labeled-pool
// size at each for a pool of n items.
std::vector<double> labeled_fractions(const ExperimentConfig& c);
std::vector<int64_t> labeled_sizes(const ExperimentConfig& c, int64_t pool);
// Throws ValueError with one clear message for any inconsistent option (unknown method or init,
// fractions not increasing, bad sizes, a device that is absent).
void validate_options(const ExperimentConfig& c);
// The checks that need the pool size: every cycle adds items, the budget fits in the pool.
void validate_pool(const ExperimentConfig& c, int64_t pool);
// Every way this configuration differs from the paper's settings, one line each.
std::vector<std::string> reductions(const ExperimentConfig& c);

// The configuration as JSON, float settings as written (shortest_floats).
nlohmann::json to_json(const ExperimentConfig& c);
// Every float-valued number of `j` (0.9f stored as 0.8999999761581421) replaced by the shortest
// decimal that reads back as the same float (0.9); doubles that are not floats are left alone.
void shortest_floats(nlohmann::json& j);
ExperimentConfig config_from_json(const nlohmann::json& j);

}  // namespace sr
