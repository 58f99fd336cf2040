// Evaluating a segmentation model: one confusion matrix accumulated over every pixel of a split,
// mean IoU from it (SPEC section 6: over the classes, ignoring label 255).
//
//   IoU_c = TP_c / (TP_c + FP_c + FN_c), from the matrix M (rows truth, columns prediction):
//           TP_c = M[c][c], FP_c = sum_t M[t][c] - TP_c, FN_c = sum_p M[c][p] - TP_c.
//   A class absent from both the truth and the predictions has no IoU (NaN) and is left out of
//   the mean (as fyu/drn's and torchmetrics' nan-mean), so a split without, say, trains does not
//   score 0 for them. Pixels whose truth is the ignore index are not counted at all.
#pragma once

#include <cstdint>
#include <vector>

#include "data/dataset.h"
#include "engine/distributed.h"
#include "layers/module.h"

namespace sr {

class ConfusionMatrix {
 public:
  explicit ConfusionMatrix(int64_t classes);
  // n pixels: truth in [0, classes) or ignore_index (skipped), pred in [0, classes). ValueError
  // naming the value for anything else.
  void add(const int64_t* truth, const int64_t* pred, int64_t n, int64_t ignore_index);
  int64_t classes() const { return c_; }
  int64_t at(int64_t truth, int64_t pred) const { return m_[size_t(truth * c_ + pred)]; }
  int64_t total() const;
  std::vector<double> iou() const;  // per class, NaN where undefined
  double mean_iou() const;          // over the defined classes; NaN when none is
  double pixel_accuracy() const;    // trace / total; NaN for an empty matrix
  // Every rank's counts summed, on every rank (a split evaluated in shares).
  void sum_over(const ProcessGroup& group);

 private:
  int64_t c_;
  std::vector<int64_t> m_;
};

struct SegEvalResult {
  double miou = 0, pixel_accuracy = 0;
  double loss = 0;  // mean per-pixel cross-entropy over the counted pixels
  std::vector<double> class_iou;
};

// Eval mode over `items` of the dataset (every item when empty), batches of `batch_size`. With a
// group of several ranks, each evaluates its contiguous share and the counts are summed: every
// rank returns the result over all items.
SegEvalResult evaluate_segmentation(Module& model, const Dataset& ds,
                                    const std::vector<int64_t>& items, int64_t batch_size,
                                    Device device, const ProcessGroup* group = nullptr);

}  // namespace sr
