// oneDNN engine, stream, descriptors and reorders (see onednn_util.h), and the CPU backend's
// version queries.
#include "engine/cpu/onednn_util.h"

#include <omp.h>

#include "engine/cpu/cpu_backend.h"

namespace sr {

namespace onednn {

dnnl::engine& engine() {
  static dnnl::engine e(dnnl::engine::kind::cpu, 0);
  return e;
}

dnnl::stream& stream() {
  static dnnl::stream s(engine());
  return s;
}

dnnl::memory::desc desc_of(const Shape& shape, const Shape& strides) {
  dnnl::memory::dims d(shape.begin(), shape.end()), s(strides.begin(), strides.end());
  return dnnl::memory::desc(d, dnnl::memory::data_type::f32, s);
}

dnnl::memory::desc desc_of(const Tensor& t) {
  return desc_of(t.shape(), t.strides());
}

MemoryFormat shared_format(const Tensor& a, const Tensor& b) {
  for (const Tensor* t : {&a, &b})
    if (t->dim() == 4 && t->is_contiguous(MemoryFormat::channels_last) && !t->is_contiguous())
      return MemoryFormat::channels_last;
  return MemoryFormat::contiguous;
}

dnnl::memory::desc desc_of(const Tensor& t, MemoryFormat fmt) {
  if (t.dim() == 4 && t.is_contiguous(fmt))
    return desc_of(t.shape(), fmt == MemoryFormat::channels_last ? channels_last_strides(t.shape())
                                                                 : contiguous_strides(t.shape()));
  return desc_of(t);
}

dnnl::memory memory_of(const Tensor& t) {
  return memory_of(t, desc_of(t));
}

dnnl::memory memory_of(const Tensor& t, const dnnl::memory::desc& md) {
  return dnnl::memory(md, engine(), t.raw_data());
}

std::string key_of(const Tensor& t) {
  std::string k;
  for (int64_t d : t.shape()) k += std::to_string(d) + "x";
  k += ":";
  for (int64_t s : t.strides()) k += std::to_string(s) + ".";
  return k;
}

void run(const dnnl::primitive& prim, const std::unordered_map<int, dnnl::memory>& args) {
  prim.execute(stream(), args);
  stream().wait();
}

dnnl::memory to_layout(const dnnl::memory& user, const dnnl::memory::desc& want) {
  if (user.get_desc() == want) return user;
  dnnl::memory m(want, engine());
  dnnl::reorder(user, m).execute(stream(), const_cast<dnnl::memory&>(user), m);
  stream().wait();
  return m;
}

void from_layout(const dnnl::memory& src, const dnnl::memory& dst) {
  if (src.get(true) == dst.get(true)) return;
  dnnl::reorder(src, dst).execute(stream(), const_cast<dnnl::memory&>(src),
                                  const_cast<dnnl::memory&>(dst));
  stream().wait();
}

}  // namespace onednn

std::string onednn_version() {
  const dnnl_version_t* v = dnnl_version();
  std::string rt = v->cpu_runtime == DNNL_RUNTIME_OMP ? "OpenMP" : "other";
  return fmt::format("{}.{}.{} (cpu runtime: {})", v->major, v->minor, v->patch, rt);
}

std::string onednn_isa() {
  using isa = dnnl::cpu_isa;
  switch (dnnl::get_effective_cpu_isa()) {
    case isa::sse41:
      return "sse41";
    case isa::avx:
      return "avx";
    case isa::avx2:
      return "avx2";
    case isa::avx2_vnni:
      return "avx2_vnni";
    case isa::avx512_core:
      return "avx512_core";
    case isa::avx512_core_vnni:
      return "avx512_core_vnni";
    case isa::avx512_core_bf16:
      return "avx512_core_bf16";
    case isa::avx512_core_amx:
      return "avx512_core_amx";
    default:
      return "other";
  }
}

std::string kernels_isa() {
#if defined(__AVX512F__)
  const char* v = "AVX-512";
#elif defined(__AVX2__)
  const char* v = "AVX2";
#elif defined(__AVX__)
  const char* v = "AVX";
#else
  const char* v = "SSE2";
#endif
  std::string target = SR_CPU_TARGET;
  return fmt::format("{} (-march={})", v, target.empty() ? "default" : target);
}

}  // namespace sr
