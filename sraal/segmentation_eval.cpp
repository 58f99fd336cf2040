// Confusion matrix, IoU and segmentation evaluation (see segmentation_eval.h).
#include "sraal/segmentation_eval.h"

#include <cmath>
#include <limits>

#include "data/batch.h"
#include "engine/autograd.h"
#include "engine/error.h"
#include "engine/ops.h"
#include "sraal/train_classifier.h"

namespace sr {

ConfusionMatrix::ConfusionMatrix(int64_t classes) : c_(classes), m_(size_t(classes * classes), 0) {
  SR_CHECK_VALUE(classes > 0, "confusion matrix: {} classes", classes);
}

void ConfusionMatrix::add(const int64_t* truth, const int64_t* pred, int64_t n,
                          int64_t ignore_index) {
  for (int64_t i = 0; i < n; ++i) {
    const int64_t t = truth[i], p = pred[i];
    if (t == ignore_index) continue;
    SR_CHECK_VALUE(t >= 0 && t < c_, "confusion matrix: true class {} outside [0, {}) (pixel {})",
                   t, c_, i);
    SR_CHECK_VALUE(p >= 0 && p < c_, "confusion matrix: predicted class {} outside [0, {})", p, c_);
    ++m_[size_t(t * c_ + p)];
  }
}

int64_t ConfusionMatrix::total() const {
  int64_t s = 0;
  for (int64_t v : m_) s += v;
  return s;
}

std::vector<double> ConfusionMatrix::iou() const {
  std::vector<double> out(size_t(c_), std::numeric_limits<double>::quiet_NaN());
  for (int64_t c = 0; c < c_; ++c) {
    int64_t tp = at(c, c), row = 0, col = 0;
    for (int64_t k = 0; k < c_; ++k) row += at(c, k), col += at(k, c);
    const int64_t uni = row + col - tp;  // TP + FN + FP
    if (uni > 0) out[size_t(c)] = double(tp) / double(uni);
  }
  return out;
}

double ConfusionMatrix::mean_iou() const {
  double sum = 0;
  int64_t defined = 0;
  for (double v : iou())
    if (!std::isnan(v)) sum += v, ++defined;
  return defined ? sum / double(defined) : std::numeric_limits<double>::quiet_NaN();
}

double ConfusionMatrix::pixel_accuracy() const {
  int64_t tp = 0;
  for (int64_t c = 0; c < c_; ++c) tp += at(c, c);
  const int64_t n = total();
  return n ? double(tp) / double(n) : std::numeric_limits<double>::quiet_NaN();
}

void ConfusionMatrix::sum_over(const ProcessGroup& group) {
  group.all_reduce_sum(m_);
}

SegEvalResult evaluate_segmentation(Module& model, const Dataset& ds,
                                    const std::vector<int64_t>& items, int64_t batch_size,
                                    Device device, const ProcessGroup* group) {
  const DatasetInfo& info = ds.info();
  SR_CHECK_VALUE(info.segmentation, "evaluate_segmentation: {} is not a segmentation dataset",
                 info.name);
  std::vector<int64_t> all = items;
  if (all.empty())
    for (int64_t i = 0; i < ds.size(); ++i) all.push_back(i);
  SR_CHECK_VALUE(!all.empty(), "evaluate_segmentation: {} has no items", info.name);
  const bool shared = group && group->size() > 1;
  if (shared) all = rank_share(all, group->rank(), group->size());
  NoGradGuard ng;
  model.eval();
  ConfusionMatrix cm(info.num_classes);
  double loss_sum = 0;
  std::vector<int64_t> pred;
  for (const auto& idx : epoch_batches(all, batch_size, false, false, 0, 0)) {
    Batch b = make_batch(ds, idx, Augment{}, 0, 0);
    Tensor logits = model(b.images.to(device)).contiguous().to(Device::cpu);
    const int64_t n = logits.size(0), c = logits.size(1), hw = logits.size(2) * logits.size(3);
    SR_CHECK_SHAPE(
        c == info.num_classes && logits.size(2) == info.height && logits.size(3) == info.width,
        "evaluate_segmentation: the model gives {} for {} classes of {}x{} maps",
        shape_str(logits.shape()), info.num_classes, info.height, info.width);
    const std::vector<int64_t> truth = b.labels.to_vector_as<int64_t>();
    // Per-pixel arg-max over the classes (the first maximum on ties, as torch.argmax).
    const float* l = logits.data<float>();
    pred.assign(size_t(n * hw), 0);
    for (int64_t i = 0; i < n; ++i)
      for (int64_t p = 0; p < hw; ++p) {
        const float* base = l + i * c * hw + p;
        int64_t best = 0;
        for (int64_t k = 1; k < c; ++k)
          if (base[k * hw] > base[best * hw]) best = k;
        pred[size_t(i * hw + p)] = best;
      }
    const int64_t before = cm.total();
    cm.add(truth.data(), pred.data(), n * hw, info.ignore_index);
    // cross_entropy is the mean over the batch's counted pixels: weight it by their number.
    const int64_t valid = cm.total() - before;
    loss_sum +=
        double(cross_entropy(logits, b.labels, info.ignore_index).item<float>()) * double(valid);
  }
  model.train();
  if (shared) {
    cm.sum_over(*group);
    std::vector<double> loss{loss_sum};
    group->all_reduce_sum(loss);
    loss_sum = loss[0];
  }
  SegEvalResult r;
  r.class_iou = cm.iou();
  r.miou = cm.mean_iou();
  r.pixel_accuracy = cm.pixel_accuracy();
  r.loss = cm.total() ? loss_sum / double(cm.total()) : 0;
  return r;
}

}  // namespace sr
