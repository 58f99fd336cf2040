// Training and evaluating the target model on a pool of a dataset (step 1 of an SRAAL cycle, and
// `sraal train`): SGD with momentum and weight decay, the learning rate divided by 10 at fixed
// fractions of the epochs (or poly decay), cross-entropy (per pixel for segmentation, skipping
// the ignore index), the paper's augmentation. Segmentation evaluation: sraal/segmentation_eval.h.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "data/batch.h"
#include "data/dataset.h"
#include "engine/distributed.h"
#include "layers/module.h"

namespace sr {

struct EpochReport {
  int64_t epoch = 0, epochs = 0;  // epoch is 1-based
  double loss = 0, seconds = 0, images_per_sec = 0;
  float lr = 0;  // the rate the epoch's steps used
};

// Something trained jointly with the target (LL4AL's loss-prediction module): each step it runs
// the target's forward pass itself and returns the logits and a term added to the mean
// cross-entropy; its parameters join the target's in the same SGD (same lr, momentum, weight
// decay and schedule, as the reference code's second optimiser with equal settings).
class JointObjective {
 public:
  virtual ~JointObjective() = default;
  virtual std::vector<Tensor> parameters() = 0;
  virtual void to(Device device) = 0;
  struct Step {
    Tensor logits;  // (N, C)
    Tensor extra;   // 0-d, added to cross_entropy(logits, y)
  };
  // `epoch` 0-based of `epochs`.
  virtual Step step(Module& target, const Tensor& x, const Tensor& y, int64_t epoch,
                    int64_t epochs) = 0;
};

struct ClassifierTrainOptions {
  int64_t epochs = 200;
  int64_t batch_size = 128;
  float lr = 0.1f, momentum = 0.9f, weight_decay = 5e-4f;
  std::vector<double> milestones = {0.8};  // fractions of `epochs` where lr is divided by 10
  float poly_power = 0.f;       // > 0: lr * (1 - epoch / epochs)^poly_power instead of milestones
  int64_t ignore_index = -100;  // targets with this value add no loss (255 for segmentation)
  Augment augment;
  uint64_t seed = 0;
  Device device = Device::cpu;
  int loader_workers = 1;                            // background threads assembling batches
  std::function<void(const EpochReport&)> on_epoch;  // progress (optional)
  std::shared_ptr<JointObjective> joint;             // optional (LL4AL)
  // Data-parallel over these ranks when it has more than one (mpirun): each rank trains on its
  // contiguous share of every batch (batch_size is the global batch), the gradients are summed
  // over ranks in buckets during backward (engine/reducer.h) with each rank's loss weighted by
  // its share, so that the step is the one-process step of the global batch; the parameters
  // start from rank 0's, and the batch-norm buffers are rank 0's at every step and at the end
  // (per-rank batch statistics unless the model's batch norms are synchronised).
  const ProcessGroup* group = nullptr;
};

struct TrainResult {
  double seconds = 0, final_loss = 0;
  int64_t steps = 0;
};

// The value of a scalar loss; a NumericalError naming `where` when it is NaN or infinite, so
// that a diverged model stops training instead of carrying NaN weights into the results.
float checked_loss(const Tensor& loss, const std::string& where);

// How many of the host int64 `labels` are not `ignore_index`: the targets a cross-entropy scores.
int64_t scored_targets(const Tensor& labels, int64_t ignore_index);

TrainResult train_classifier(Module& model, const Dataset& ds, const std::vector<int64_t>& pool,
                             const ClassifierTrainOptions& o);

struct EvalResult {
  double accuracy = 0;  // top-1, in [0, 1]
  double loss = 0;      // mean cross-entropy
};

// With a group of several ranks, each evaluates its contiguous share of the items and the counts
// are summed: every rank returns the result over all items.
EvalResult evaluate_classifier(Module& model, const Dataset& ds, int64_t batch_size, Device device,
                               const ProcessGroup* group = nullptr);
// The same over `items` of the dataset only.
EvalResult evaluate_classifier(Module& model, const Dataset& ds, const std::vector<int64_t>& items,
                               int64_t batch_size, Device device,
                               const ProcessGroup* group = nullptr);

// The share of `items` of rank `rank` of `ranks`: a contiguous slice, the sizes differing by at
// most one, in rank order.
std::vector<int64_t> rank_share(const std::vector<int64_t>& items, int rank, int ranks);

// Per-item outputs computed over the ranks of `group`: each rank runs rows_of on its share of
// `items` and every rank gets the rows of all shares in rank order (all_gather_rows), as if
// rows_of(items) had run here; with no group, a group of one, or fewer items than ranks, it is
// rows_of(items). rows_of returns tensors with one row per item (the first dimension); the
// gathered ones are on the device of the rows it returned.
std::vector<Tensor> over_shares(
    const ProcessGroup* group, const std::vector<int64_t>& items,
    const std::function<std::vector<Tensor>(const std::vector<int64_t>&)>& rows_of);
// The same with shares of whole blocks: items split into blocks of `block` consecutive items
// (the last may be shorter), each rank's share a contiguous run of blocks, and rows_of(share,
// first) told the position in `items` of its share's first item (a multiple of block). For work
// whose random draws go block by block (MC-dropout's passes): a rank that starts its generator
// where the one-process draws reach block first / block draws the one-process numbers. With
// fewer blocks than ranks, every rank runs rows_of(items, 0).
std::vector<Tensor> over_block_shares(
    const ProcessGroup* group, const std::vector<int64_t>& items, int64_t block,
    const std::function<std::vector<Tensor>(const std::vector<int64_t>&, int64_t first)>& rows_of);

// Softmax outputs (N, C) of the model in eval mode for `indices`, on `device` (where the
// selection that reads them runs); with a group, computed over its ranks (over_shares).
Tensor predict_probabilities(Module& model, const Dataset& ds, const std::vector<int64_t>& indices,
                             int64_t batch_size, Device device,
                             const ProcessGroup* group = nullptr);

}  // namespace sr
