// Tensor basics: factories, layouts, views, copies, dispatch errors.
#include <gtest/gtest.h>

#include "engine/autograd.h"
#include "engine/ops.h"
#include "tests/gradcheck.h"

namespace sr {
namespace {

TEST(Tensor, FactoriesAndItem) {
  Tensor z = Tensor::zeros({2, 3});
  EXPECT_EQ(z.numel(), 6);
  EXPECT_EQ(z.shape(), (Shape{2, 3}));
  EXPECT_TRUE(z.is_contiguous());
  for (float v : z.to_vector()) EXPECT_EQ(v, 0.f);
  Tensor f = Tensor::full({4}, 2.5);
  EXPECT_EQ(f.to_vector(), (std::vector<float>{2.5f, 2.5f, 2.5f, 2.5f}));
  EXPECT_EQ(Tensor::scalar(3.f).item<float>(), 3.f);
  Tensor a = Tensor::arange(5);
  EXPECT_EQ(a.dtype(), DType::i64);
  EXPECT_EQ(a.to_vector_as<int64_t>(), (std::vector<int64_t>{0, 1, 2, 3, 4}));
}

TEST(Tensor, ChannelsLastRoundTrip) {
  Tensor x = test::random_input({2, 3, 4, 5}, 7, -1, 1, false);
  Tensor cl = x.contiguous(MemoryFormat::channels_last);
  EXPECT_TRUE(cl.is_contiguous(MemoryFormat::channels_last));
  EXPECT_FALSE(cl.is_contiguous());
  EXPECT_TRUE(cl.is_dense());
  EXPECT_EQ(cl.suggest_memory_format(), MemoryFormat::channels_last);
  // Same logical values.
  EXPECT_EQ(cl.to_vector(), x.to_vector());
  // Element [1, 2, 3, 4] sits at n*HWC + h*WC + w*C + c.
  const float* p = cl.data<float>();
  EXPECT_EQ(p[1 * 60 + 3 * 15 + 4 * 3 + 2], x.to_vector()[1 * 60 + 2 * 20 + 3 * 5 + 4]);
  Tensor back = cl.contiguous();
  EXPECT_EQ(back.to_vector(), x.to_vector());
}

TEST(Tensor, ViewsShareStorage) {
  Tensor x = Tensor::from_vector(std::vector<float>{0, 1, 2, 3, 4, 5}, {2, 3});
  Tensor r = x.reshape({3, 2});
  EXPECT_EQ(r.raw_data(), x.raw_data());
  Tensor row = x.narrow(0, 1, 1);
  EXPECT_EQ(row.to_vector(), (std::vector<float>{3, 4, 5}));
  Tensor col = x.narrow(1, 1, 2);
  EXPECT_FALSE(col.is_contiguous());
  EXPECT_EQ(col.to_vector(), (std::vector<float>{1, 2, 4, 5}));
  EXPECT_EQ(x.select(1).to_vector(), (std::vector<float>{3, 4, 5}));
  EXPECT_EQ(x.reshape({-1}).shape(), (Shape{6}));
  EXPECT_THROW(x.reshape({4, 2}), ShapeError);
  EXPECT_THROW(x.reshape({-1, -1}), ShapeError);
  EXPECT_THROW(x.narrow(1, 2, 2), ShapeError);
}

TEST(Tensor, CopyConvertsDtypes) {
  Tensor x = Tensor::from_vector(std::vector<float>{1.7f, -2.2f, 3.f}, {3});
  Tensor i = x.to_dtype(DType::i64);
  EXPECT_EQ(i.to_vector_as<int64_t>(), (std::vector<int64_t>{1, -2, 3}));
  EXPECT_THROW(x.data<int64_t>(), DTypeError);
}

TEST(Tensor, EmptySlotNamesOpAndDevice) {
  // No CUDA kernels are registered for a GPU-less run of `fill` on an unregistered device;
  // the slot reports op and device.
  KernelSlot<void(int)> slot("demo_op");
  try {
    slot(Device::cuda, 1);
    FAIL() << "expected NotImplementedError";
  } catch (const NotImplementedError& e) {
    EXPECT_NE(std::string(e.what()).find("demo_op"), std::string::npos);
    EXPECT_NE(std::string(e.what()).find("cuda"), std::string::npos);
  }
}

TEST(Tensor, ShapeErrorsNameTheOp) {
  Tensor a = Tensor::zeros({2, 3}), b = Tensor::zeros({4, 3});
  try {
    add(a, b);
    FAIL();
  } catch (const ShapeError& e) {
    EXPECT_NE(std::string(e.what()).find("add"), std::string::npos);
    EXPECT_NE(std::string(e.what()).find("[2, 3]"), std::string::npos);
  }
  EXPECT_THROW(matmul(a, b), ShapeError);
  EXPECT_THROW(conv2d(Tensor::zeros({1, 3, 8, 8}), Tensor::zeros({4, 2, 3, 3}), Tensor()),
               ShapeError);
}

}  // namespace
}  // namespace sr
