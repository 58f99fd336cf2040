// Segmentation evaluation and training: the confusion matrix and mean IoU against hand-computed
// values (ignored pixels, a class absent from truth and predictions, one predicted but absent),
// evaluate_segmentation on models whose predictions are known, and a small DRN-D-22 that learns.
#include <gtest/gtest.h>

#include <cmath>

#include "data/dataset.h"
#include "data/fashion_seg.h"
#include "engine/autograd.h"
#include "engine/ops.h"
#include "layers/drn.h"
#include "layers/layers.h"
#include "sraal/segmentation_eval.h"
#include "sraal/train_classifier.h"

namespace sr {
namespace {

TEST(ConfusionMatrix, IouAndMeanByHand) {
  // 4 classes; class 3 appears in neither truth nor prediction; 255 is ignored.
  //   truth: 0 0 0 1 1 2 2 255 255 0
  //   pred:  0 0 1 1 1 2 0 2   3   2
  std::vector<int64_t> t = {0, 0, 0, 1, 1, 2, 2, 255, 255, 0};
  std::vector<int64_t> p = {0, 0, 1, 1, 1, 2, 0, 2, 3, 2};
  ConfusionMatrix cm(4);
  cm.add(t.data(), p.data(), int64_t(t.size()), 255);
  EXPECT_EQ(cm.total(), 8);
  EXPECT_EQ(cm.at(0, 0), 2);
  EXPECT_EQ(cm.at(0, 1), 1);
  EXPECT_EQ(cm.at(0, 2), 1);
  EXPECT_EQ(cm.at(2, 0), 1);
  // class 0: TP 2, FN 2 (pixels 2 and 9), FP 1 (pixel 6) -> 2/5
  // class 1: TP 2, FN 0, FP 1 -> 2/3;  class 2: TP 1, FN 1, FP 1 -> 1/3;  class 3: none -> NaN
  std::vector<double> iou = cm.iou();
  EXPECT_DOUBLE_EQ(iou[0], 2.0 / 5);
  EXPECT_DOUBLE_EQ(iou[1], 2.0 / 3);
  EXPECT_DOUBLE_EQ(iou[2], 1.0 / 3);
  EXPECT_TRUE(std::isnan(iou[3]));
  EXPECT_DOUBLE_EQ(cm.mean_iou(), (2.0 / 5 + 2.0 / 3 + 1.0 / 3) / 3);
  EXPECT_DOUBLE_EQ(cm.pixel_accuracy(), 5.0 / 8);
  // A class predicted but never true has IoU 0 and counts in the mean.
  std::vector<int64_t> t2 = {0, 0}, p2 = {0, 3};
  ConfusionMatrix b(4);
  b.add(t2.data(), p2.data(), 2, 255);
  EXPECT_DOUBLE_EQ(b.iou()[3], 0.0);
  EXPECT_DOUBLE_EQ(b.mean_iou(), (0.5 + 0.0) / 2);
  // Bad values are named.
  std::vector<int64_t> bad = {7};
  EXPECT_THROW(b.add(bad.data(), p2.data(), 1, 255), ValueError);
  EXPECT_TRUE(std::isnan(ConfusionMatrix(3).mean_iou()));
}

// 8 x 8 items, 3 classes: pixels >= 128 are class 1, others class 0; class 2 never occurs.
std::shared_ptr<Dataset> threshold_set() {
  DatasetInfo info;
  info.name = "threshold";
  info.channels = 1, info.height = 8, info.width = 8, info.num_classes = 3;
  info.class_names = {"dark", "bright", "never"};
  info.segmentation = true;
  std::vector<uint8_t> px, maps;
  for (int i = 0; i < 6; ++i)
    for (int k = 0; k < 64; ++k) {
      uint8_t v = uint8_t(((k * 7 + i * 13) % 16) * 16);
      px.push_back(v);
      maps.push_back(k == 5 && i == 0 ? 255 : v >= 128 ? 1 : 0);
    }
  return std::make_shared<InMemorySegDataset>(info, std::move(px), std::move(maps));
}

// A 1x1 convolution whose class-1 logit is (raw pixel - 120) and the others 0 and -100.
class ThresholdModel : public Module {
 public:
  explicit ThresholdModel(const Dataset& ds) : mean_(ds.norm_mean()[0]), std_(ds.norm_std()[0]) {}
  Tensor forward(const Tensor& x) override {
    Tensor raw = affine(x, std_ * 255.f, mean_ * 255.f);  // back to pixel values
    Tensor zero = mul(raw, 0.f);
    return concat({zero, add(raw, -120.f), add(zero, -100.f)}, 1);
  }
  std::string type_name() const override { return "ThresholdModel"; }

 private:
  float mean_, std_;
};

class ConstantModel : public Module {
 public:
  Tensor forward(const Tensor& x) override {
    Tensor zero = mul(x, 0.f);
    return concat({add(zero, 1.f), zero, zero}, 1);  // always class 0
  }
  std::string type_name() const override { return "ConstantModel"; }
};

TEST(SegmentationEval, KnownPredictionsGiveKnownIou) {
  auto ds = threshold_set();
  ThresholdModel perfect(*ds);
  SegEvalResult r = evaluate_segmentation(perfect, *ds, {}, 4, Device::cpu);
  EXPECT_DOUBLE_EQ(r.miou, 1.0);  // class 2: absent from both, left out
  EXPECT_DOUBLE_EQ(r.pixel_accuracy, 1.0);
  EXPECT_TRUE(std::isnan(r.class_iou[2]));
  // Always class 0: IoU_0 = dark pixels / counted pixels, IoU_1 = 0.
  int64_t dark = 0, counted = 0;
  std::vector<uint8_t> map(64);
  for (int64_t i = 0; i < ds->size(); ++i) {
    ds->read_label_map(i, map.data());
    for (uint8_t v : map) dark += v == 0, counted += v != 255;
  }
  ASSERT_EQ(counted, 6 * 64 - 1);
  ConstantModel c;
  SegEvalResult k = evaluate_segmentation(c, *ds, {0, 1, 2, 3, 4, 5}, 5, Device::cpu);
  EXPECT_DOUBLE_EQ(k.class_iou[0], double(dark) / double(counted));
  EXPECT_DOUBLE_EQ(k.class_iou[1], 0.0);
  EXPECT_DOUBLE_EQ(k.miou, double(dark) / double(counted) / 2);
  // The loss is the mean per-pixel cross-entropy of the counted pixels: logits (1, 0, 0).
  EXPECT_NEAR(k.loss,
              -std::log(std::exp(1.0) / (std::exp(1.0) + 2)) * double(dark) / counted +
                  -std::log(1.0 / (std::exp(1.0) + 2)) * double(counted - dark) / counted,
              1e-5);
  // A classification set is refused by name.
  DatasetSplits cls = make_synthetic(4, 4, 1, 8, 8, 2, 1);
  EXPECT_THROW(evaluate_segmentation(c, *cls.train, {}, 4, Device::cpu), ValueError);
}

// A narrow DRN-D-22 trained with the segmentation recipe (poly lr, random scale, flip, ignore
// 255) on the small synthetic-seg set: the loss falls and it beats predicting the background.
TEST(SegmentationTraining, SmallDrnLearnsTheSyntheticSet) {
  DatasetOptions opt;
  opt.name = "synthetic-seg";
  DatasetSplits d = load_dataset(opt);
  Generator g(3);
  DrnD22 net({1, d.train->info().num_classes, 0.125f}, g);
  ClassifierTrainOptions o;
  o.epochs = 12, o.batch_size = 16, o.lr = 0.05f, o.weight_decay = 1e-4f;
  o.poly_power = 0.9f, o.ignore_index = 255;
  o.augment.hflip = true, o.augment.scale_min = 1 / 1.25f, o.augment.scale_max = 1.25f;
  std::vector<double> losses;
  o.on_epoch = [&](const EpochReport& r) { losses.push_back(r.loss); };
  std::vector<int64_t> pool;
  for (int64_t i = 0; i < 384; ++i) pool.push_back(i);
  train_classifier(net, *d.train, pool, o);
  ASSERT_EQ(losses.size(), 12u);
  EXPECT_LT(losses.back(), 0.8 * losses.front());
  SegEvalResult r = evaluate_segmentation(net, *d.test, {}, 32, Device::cpu);
  // Predicting the background everywhere scores IoU_0 = its share of the test pixels (0.77) and
  // 0 for the 10 disc classes: mIoU 0.07. Learning means at least twice that.
  EXPECT_GT(r.miou, 2 * 0.77 / 11) << "pixel accuracy " << r.pixel_accuracy;
}

}  // namespace
}  // namespace sr
