// Target-classifier training and evaluation (see train_classifier.h).
#include "sraal/train_classifier.h"

#include <algorithm>
#include <chrono>
#include <cmath>

#include "data/loader.h"
#include "engine/atomic_file.h"
#include "engine/autograd.h"
#include "engine/ops.h"
#include "engine/optim.h"
#include "engine/reducer.h"
#include "engine/transfer.h"
#include "layers/batch_share.h"

namespace sr {

namespace {
double now_seconds() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}
}  // namespace

std::vector<int64_t> rank_share(const std::vector<int64_t>& items, int rank, int ranks) {
  const size_t n = items.size(), k = size_t(ranks), r = size_t(rank);
  return std::vector<int64_t>(items.begin() + ptrdiff_t(r * n / k),
                              items.begin() + ptrdiff_t((r + 1) * n / k));
}

int64_t scored_targets(const Tensor& labels, int64_t ignore_index) {
  SR_CHECK_VALUE(labels.device() == Device::cpu && labels.dtype() == DType::i64,
                 "scored_targets: labels must be int64 on the CPU");
  const Tensor t = labels.contiguous();
  const int64_t* v = t.data<int64_t>();
  return t.numel() - int64_t(std::count(v, v + t.numel(), ignore_index));
}

float checked_loss(const Tensor& loss, const std::string& where) {
  float v = loss.item<float>();
  if (!std::isfinite(v))
    throw NumericalError(fmt::format(
        "{}: the loss is {}; the model diverged (lower the learning rate, or check the data and "
        "the initial weights for NaN/inf)",
        where, v));
  return v;
}

TrainResult train_classifier(Module& model, const Dataset& ds, const std::vector<int64_t>& pool,
                             const ClassifierTrainOptions& o) {
  SR_CHECK_VALUE(o.epochs > 0 && o.batch_size > 0,
                 "train: epochs {} and batch size {} must be positive", o.epochs, o.batch_size);
  SR_CHECK_VALUE(!pool.empty(), "train: the labeled pool is empty");
  std::vector<Tensor> params = model.parameters();
  if (o.joint) {
    o.joint->to(o.device);
    for (const Tensor& p : o.joint->parameters()) params.push_back(p);
  }
  SGD opt(params, {o.lr, o.momentum, 0.f, o.weight_decay, false});
  std::vector<int64_t> milestones;
  for (double f : o.milestones) milestones.push_back(int64_t(std::lround(f * double(o.epochs))));
  std::unique_ptr<LrSchedule> sched;
  if (o.poly_power > 0)
    sched = std::make_unique<PolyLR>(o.lr, o.epochs, o.poly_power);
  else
    sched = std::make_unique<MultiStepLR>(o.lr, milestones, 0.1f);
  // Data-parallel: rank 0's parameters everywhere, and a reducer summing the gradients.
  const ProcessGroup* pg = o.group && o.group->size() > 1 ? o.group : nullptr;
  const int ranks = pg ? pg->size() : 1, rank = pg ? pg->rank() : 0;
  std::vector<Tensor> buffers;
  for (auto& [name, b] : model.named_buffers()) buffers.push_back(b);
  std::unique_ptr<GradientReducer> reducer;
  if (pg) {
    broadcast_coalesced(params, *pg);
    broadcast_coalesced(buffers, *pg);
    reducer = std::make_unique<GradientReducer>(params, *pg);
  }
  // Each rank draws, for its rows, the dropout masks one process draws for the whole batch
  // (layers/batch_share.h); whole batches again when training ends, however it ends.
  BatchShare* share = pg ? dynamic_cast<BatchShare*>(&model) : nullptr;
  struct WholeBatchesAfter {
    BatchShare* s;
    ~WholeBatchesAfter() {
      if (s) s->set_batch_share(0, 0);
    }
  } whole_after{share};
  model.train();
  TrainResult r;
  double t0 = now_seconds();
  for (int64_t epoch = 0; epoch < o.epochs; ++epoch) {
    double te = now_seconds(), loss_sum = 0;
    const float epoch_lr = opt.lr();
    int64_t seen = 0;
    auto plan = epoch_batches(pool, o.batch_size, true, false, o.seed, epoch);
    // Drop a last batch of under 2 items per rank: batch norm cannot train on a single sample.
    if (plan.size() > 1 && plan.back().size() < size_t(2 * ranks)) plan.pop_back();
    std::vector<int64_t> global_sizes;  // per step: the whole batch over all ranks
    for (auto& batch : plan) {
      global_sizes.push_back(int64_t(batch.size()));
      SR_CHECK_VALUE(batch.size() >= size_t(ranks),
                     "train: a batch of {} item(s) cannot be shared by {} processes", batch.size(),
                     ranks);
      if (pg) batch = rank_share(batch, rank, ranks);
    }
    BatchLoader loader(ds, std::move(plan), o.augment, o.seed, epoch, o.loader_workers);
    // The next batch's host-to-device copy starts before this step's work is issued, so on a GPU
    // it runs during the step (engine/transfer.h); on the CPU an upload is the host tensor.
    struct Staged {
      Upload x, y;
      int64_t n = 0;
      int64_t scored = 0;  // targets that are not ignore_index (counted only data-parallel)
    };
    auto stage = [&](Staged& s) {
      Batch b;
      if (!loader.next(b)) return false;
      s.n = b.labels.size(0);
      if (pg) s.scored = scored_targets(b.labels, o.ignore_index);
      s.x = Upload(b.images, o.device);
      s.y = Upload(b.labels, o.device);
      return true;
    };
    Staged cur, next;
    int64_t step = 0;  // of this epoch
    for (bool more = stage(cur); more; std::swap(cur, next)) {
      int64_t n = cur.n;
      Tensor x = cur.x.get(), y = cur.y.get();
      more = stage(next);
      if (pg) broadcast_coalesced(buffers, *pg);
      const int64_t global = global_sizes[size_t(step)];                 // images over all ranks
      if (share) share->set_batch_share(rank * global / ranks, global);  // rank_share's rows
      Tensor ce, extra;
      if (o.joint) {
        JointObjective::Step js = o.joint->step(model, x, y, epoch, o.epochs);
        ce = cross_entropy(js.logits, y, o.ignore_index), extra = js.extra;
      } else {
        ce = cross_entropy(model(x), y, o.ignore_index);
      }
      opt.zero_grad();
      Tensor loss;                     // this rank's share of the one-process step loss
      double loss_weight = double(n);  // what this step's loss counts in the epoch's mean
      if (pg) {
        // The cross-entropy is a mean over the scored targets and the joint terms a mean over
        // images, so each is weighted by this rank's share of the global batch's count; the
        // reducer sums the shares' gradients into the one-process gradient.
        std::vector<int64_t> scored{cur.scored};
        pg->all_reduce_sum(scored);
        const double images = double(n) / double(global);
        loss = mul(ce, scored[0] ? float(double(cur.scored) / double(scored[0])) : 0.f);
        if (extra.defined()) loss = add(loss, mul(extra, float(images)));
        loss.backward();
        reducer->synchronize();
        loss_weight = double(global);  // the ranks' shares sum to the step's loss
      } else {
        loss = extra.defined() ? add(ce, extra) : ce;
        loss.backward();
      }
      opt.step();
      fault_point();
      loss_sum += double(checked_loss(
                      loss, fmt::format("training epoch {}, step {}", epoch + 1, r.steps + 1))) *
                  loss_weight;
      seen += n;
      ++r.steps, ++step;
    }
    if (pg) {  // the epoch's loss and count over all ranks
      std::vector<double> totals{loss_sum, double(seen)};
      pg->all_reduce_sum(totals);
      loss_sum = totals[0], seen = int64_t(totals[1]);
    }
    sched->step(opt);
    r.final_loss = seen ? loss_sum / double(seen) : 0;
    if (o.on_epoch) {
      double dt = now_seconds() - te;
      o.on_epoch({epoch + 1, o.epochs, r.final_loss, dt, dt > 0 ? double(seen) / dt : 0, epoch_lr});
    }
  }
  if (pg) broadcast_coalesced(buffers, *pg);  // every rank ends with the same running statistics
  r.seconds = now_seconds() - t0;
  return r;
}

EvalResult evaluate_classifier(Module& model, const Dataset& ds, int64_t batch_size, Device device,
                               const ProcessGroup* group) {
  std::vector<int64_t> all(static_cast<size_t>(ds.size()));
  for (int64_t i = 0; i < ds.size(); ++i) all[size_t(i)] = i;
  return evaluate_classifier(model, ds, all, batch_size, device, group);
}

EvalResult evaluate_classifier(Module& model, const Dataset& ds, const std::vector<int64_t>& items,
                               int64_t batch_size, Device device, const ProcessGroup* group) {
  SR_CHECK_VALUE(!items.empty(), "evaluate: no items given");
  NoGradGuard ng;
  model.eval();
  int64_t correct = 0;
  double loss_sum = 0;
  const bool shared = group && group->size() > 1;
  const std::vector<int64_t> mine =
      shared ? rank_share(items, group->rank(), group->size()) : items;
  for (const auto& idx : epoch_batches(mine, batch_size, false, false, 0, 0)) {
    Batch b = make_batch(ds, idx, Augment{}, 0, 0);
    Tensor logits = model(b.images.to(device));
    Tensor y = b.labels.to(device);
    loss_sum += double(cross_entropy(logits, y).item<float>()) * double(idx.size());
    std::vector<int64_t> pred = argmax(logits).to_vector_as<int64_t>();
    std::vector<int64_t> truth = b.labels.to_vector_as<int64_t>();
    for (size_t i = 0; i < pred.size(); ++i) correct += pred[i] == truth[i];
  }
  model.train();
  if (shared) {
    std::vector<double> totals{double(correct), loss_sum};
    group->all_reduce_sum(totals);
    correct = int64_t(totals[0]), loss_sum = totals[1];
  }
  double n = double(items.size());
  return {double(correct) / n, loss_sum / n};
}

std::vector<Tensor> over_shares(
    const ProcessGroup* group, const std::vector<int64_t>& items,
    const std::function<std::vector<Tensor>(const std::vector<int64_t>&)>& rows_of) {
  return over_block_shares(
      group, items, 1, [&](const std::vector<int64_t>& share, int64_t) { return rows_of(share); });
}

std::vector<Tensor> over_block_shares(
    const ProcessGroup* group, const std::vector<int64_t>& items, int64_t block,
    const std::function<std::vector<Tensor>(const std::vector<int64_t>&, int64_t first)>& rows_of) {
  SR_CHECK_VALUE(block >= 1, "over_block_shares: block {} must be positive", block);
  const int64_t n = int64_t(items.size()), blocks = (n + block - 1) / block;
  if (!group || group->size() == 1 || blocks < group->size()) return rows_of(items, 0);
  const int64_t k = group->size(), r = group->rank();
  const int64_t first = std::min(n, r * blocks / k * block);
  const int64_t last = std::min(n, (r + 1) * blocks / k * block);
  std::vector<Tensor> mine = rows_of({items.begin() + first, items.begin() + last}, first), all;
  for (const Tensor& t : mine)
    all.push_back(group->all_gather_rows(t.to(Device::cpu).contiguous()).to(t.device()));
  return all;
}

Tensor predict_probabilities(Module& model, const Dataset& ds, const std::vector<int64_t>& indices,
                             int64_t batch_size, Device device, const ProcessGroup* group) {
  SR_CHECK_VALUE(!indices.empty(), "predict: no items given");
  return over_shares(group, indices, [&](const std::vector<int64_t>& items) {
    NoGradGuard ng;
    model.eval();
    std::vector<Tensor> parts;
    for (const auto& idx : epoch_batches(items, batch_size, false, false, 0, 0)) {
      Batch b = make_batch(ds, idx, Augment{}, 0, 0);
      parts.push_back(softmax(model(b.images.to(device)), 1));
    }
    model.train();
    return std::vector<Tensor>{concat(parts, 0)};
  })[0];
}

}  // namespace sr
