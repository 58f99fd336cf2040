// Process groups on MPI (see distributed.h). Without MPI in the build (SRAAL_WITH_MPI unset) a
// group is this process alone, and a job started by mpirun is refused with what to rebuild.
#include "engine/distributed.h"

#include <cstdlib>
#include <mutex>

#include <fmt/ranges.h>

#include "engine/error.h"

#if SRAAL_WITH_MPI
// The C API only: Open MPI's and MPICH's deprecated C++ bindings would need their own library.
#define OMPI_SKIP_MPICXX 1
#define MPICH_SKIP_MPICXX 1
#include <mpi.h>
#endif

namespace sr {

bool launched_by_mpi() {
  // Open MPI's mpirun, PMIx launchers (Open MPI 5, Slurm), and PMI-1/2 ones (MPICH's hydra).
  for (const char* v : {"OMPI_COMM_WORLD_SIZE", "PMIX_RANK", "PMI_SIZE", "PMI_RANK"})
    if (std::getenv(v)) return true;
  return false;
}

bool mpi_available() {
  return SRAAL_WITH_MPI != 0;
}

namespace {
void check_tensor(const Tensor& t, const char* op) {
  check_defined(t, op, "tensor");
  SR_CHECK_T(t.device() == Device::cpu, DeviceError,
             "{}: {} is on {}; collectives take CPU tensors (NCCL for CUDA tensors is not "
             "built yet)",
             op, t.str(), device_name(t.device()));
  SR_CHECK_VALUE(t.is_contiguous(), "{}: {} is not contiguous", op, t.str());
}
}  // namespace

#if SRAAL_WITH_MPI

struct ProcessGroup::Comm {
  MPI_Comm comm = MPI_COMM_NULL;
  bool owned = false;  // freed with the group (a duplicate)
};

namespace {

bool g_we_initialised = false;

void check_mpi(int rc, const char* op) {
  if (rc == MPI_SUCCESS) return;
  char msg[MPI_MAX_ERROR_STRING];
  int len = 0;
  MPI_Error_string(rc, msg, &len);
  throw DistributedError(fmt::format("{}: MPI error: {}", op, std::string(msg, size_t(len))));
}

bool mpi_running() {
  int init = 0, fin = 0;
  MPI_Initialized(&init);
  MPI_Finalized(&fin);
  return init && !fin;
}

MPI_Datatype mpi_type(DType t) {
  switch (t) {
    case DType::f32:
      return MPI_FLOAT;
    case DType::i32:
      return MPI_INT32_T;
    case DType::i64:
      return MPI_INT64_T;
  }
  return MPI_DATATYPE_NULL;
}

// The communicator of a group, refusing a finalised MPI.
MPI_Comm live(const std::unique_ptr<ProcessGroup::Comm>& c, const char* op) {
  SR_CHECK_T(mpi_running(), DistributedError, "{}: MPI has been finalised", op);
  return c->comm;
}

// n values at `data` replaced by their sum over the group's ranks (no MPI: left as they are).
void sum_in_place(const std::unique_ptr<ProcessGroup::Comm>& c, void* data, int64_t n,
                  MPI_Datatype type) {
  if (!c || n == 0) return;
  check_mpi(MPI_Allreduce(MPI_IN_PLACE, data, int(n), type, MPI_SUM, live(c, "all_reduce_sum")),
            "all_reduce_sum");
}

}  // namespace

struct ProcessGroup::Work::State {
  MPI_Request req = MPI_REQUEST_NULL;
  Tensor keep;  // the buffer MPI writes into until the request completes
};

ProcessGroup::Work::Work() = default;
ProcessGroup::Work::Work(Work&&) noexcept = default;
ProcessGroup::Work& ProcessGroup::Work::operator=(Work&& o) noexcept {
  if (this != &o) {
    if (pending()) wait();
    s_ = std::move(o.s_);
  }
  return *this;
}
ProcessGroup::Work::~Work() {
  if (!pending()) return;
  try {
    wait();
  } catch (...) {  // a destructor must not throw; the error reached whoever waited first
  }
}
bool ProcessGroup::Work::pending() const {
  return s_ && s_->req != MPI_REQUEST_NULL;
}
void ProcessGroup::Work::wait() {
  if (!pending()) return;
  check_mpi(MPI_Wait(&s_->req, MPI_STATUS_IGNORE), "all_reduce_sum_async: wait");
  s_->keep = Tensor();
}
bool ProcessGroup::Work::test() {
  if (!pending()) return true;
  int done = 0;
  check_mpi(MPI_Test(&s_->req, &done, MPI_STATUS_IGNORE), "all_reduce_sum_async: test");
  if (done) s_->keep = Tensor();
  return done != 0;
}

ProcessGroup::ProcessGroup(std::unique_ptr<Comm> comm, int rank, int size)
    : comm_(std::move(comm)), rank_(rank), size_(size) {
  if (!comm_) return;
  MPI_Comm_set_errhandler(comm_->comm, MPI_ERRORS_RETURN);
  MPI_Comm node;
  check_mpi(MPI_Comm_split_type(comm_->comm, MPI_COMM_TYPE_SHARED, rank_, MPI_INFO_NULL, &node),
            "ProcessGroup: ranks of this machine");
  MPI_Comm_rank(node, &local_rank_);
  MPI_Comm_size(node, &local_size_);
  MPI_Comm_free(&node);
}

ProcessGroup::~ProcessGroup() {
  if (comm_ && comm_->owned && mpi_running()) MPI_Comm_free(&comm_->comm);
}

ProcessGroup& ProcessGroup::world() {
  static std::once_flag once;
  static std::unique_ptr<ProcessGroup> group;
  std::call_once(once, [] {
    if (!launched_by_mpi()) {
      group.reset(new ProcessGroup(nullptr, 0, 1));
      return;
    }
    int init = 0;
    MPI_Initialized(&init);
    if (!init) {
      // Only the main thread calls MPI; loader workers never do.
      int provided = 0;
      check_mpi(MPI_Init_thread(nullptr, nullptr, MPI_THREAD_FUNNELED, &provided), "MPI_Init");
      g_we_initialised = true;
      std::atexit(finalize_distributed);
    }
    int rank = 0, size = 1;
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    MPI_Comm_size(MPI_COMM_WORLD, &size);
    group.reset(new ProcessGroup(std::make_unique<Comm>(Comm{MPI_COMM_WORLD, false}), rank, size));
  });
  return *group;
}

std::unique_ptr<ProcessGroup> ProcessGroup::duplicate() const {
  if (!comm_) return std::unique_ptr<ProcessGroup>(new ProcessGroup(nullptr, 0, 1));
  auto c = std::make_unique<Comm>();
  check_mpi(MPI_Comm_dup(live(comm_, "duplicate"), &c->comm), "ProcessGroup::duplicate");
  c->owned = true;
  return std::unique_ptr<ProcessGroup>(new ProcessGroup(std::move(c), rank_, size_));
}

std::unique_ptr<ProcessGroup> ProcessGroup::split(int color) const {
  if (!comm_) return std::unique_ptr<ProcessGroup>(new ProcessGroup(nullptr, 0, 1));
  auto c = std::make_unique<Comm>();
  check_mpi(MPI_Comm_split(live(comm_, "split"), color, rank_, &c->comm), "ProcessGroup::split");
  c->owned = true;
  int rank = 0, size = 1;
  MPI_Comm_rank(c->comm, &rank);
  MPI_Comm_size(c->comm, &size);
  return std::unique_ptr<ProcessGroup>(new ProcessGroup(std::move(c), rank, size));
}

void ProcessGroup::all_reduce_sum(Tensor& t) const {
  check_tensor(t, "all_reduce_sum");
  sum_in_place(comm_, t.raw_data(), t.numel(), mpi_type(t.dtype()));
}

void ProcessGroup::all_reduce_sum(std::vector<double>& v) const {
  sum_in_place(comm_, v.data(), int64_t(v.size()), MPI_DOUBLE);
}

void ProcessGroup::all_reduce_sum(std::vector<int64_t>& v) const {
  sum_in_place(comm_, v.data(), int64_t(v.size()), MPI_INT64_T);
}

ProcessGroup::Work ProcessGroup::all_reduce_sum_async(const Tensor& t) const {
  check_tensor(t, "all_reduce_sum_async");
  Work w;
  if (!comm_ || t.numel() == 0) return w;
  w.s_ = std::make_unique<Work::State>();
  w.s_->keep = t;
  check_mpi(MPI_Iallreduce(MPI_IN_PLACE, t.raw_data(), int(t.numel()), mpi_type(t.dtype()), MPI_SUM,
                           live(comm_, "all_reduce_sum_async"), &w.s_->req),
            "all_reduce_sum_async");
  return w;
}

void ProcessGroup::broadcast(Tensor& t, int root) const {
  check_tensor(t, "broadcast");
  if (!comm_ || t.numel() == 0) return;
  check_mpi(
      MPI_Bcast(t.raw_data(), int(t.numel()), mpi_type(t.dtype()), root, live(comm_, "broadcast")),
      "broadcast");
}

void ProcessGroup::broadcast(std::vector<uint8_t>& bytes, int root) const {
  if (!comm_) return;
  MPI_Comm c = live(comm_, "broadcast");
  int64_t n = int64_t(bytes.size());
  check_mpi(MPI_Bcast(&n, 1, MPI_INT64_T, root, c), "broadcast");
  bytes.resize(size_t(n));
  if (n) check_mpi(MPI_Bcast(bytes.data(), int(n), MPI_BYTE, root, c), "broadcast");
}

std::pair<double, int64_t> ProcessGroup::all_reduce_max_loc(double value, int64_t index) const {
  if (!comm_) return {value, index};
  // MPI_DOUBLE_INT carries an int index: the 64-bit index travels as a second reduction over
  // the ranks that hold the maximum.
  struct {
    double v;
    int rank;
  } in{value, rank_}, out{};
  MPI_Comm c = live(comm_, "all_reduce_max_loc");
  check_mpi(MPI_Allreduce(&in, &out, 1, MPI_DOUBLE_INT, MPI_MAXLOC, c), "all_reduce_max_loc");
  // Every rank whose value equals the maximum offers its index; the smallest wins.
  int64_t offer = value == out.v ? index : INT64_MAX, best = 0;
  check_mpi(MPI_Allreduce(&offer, &best, 1, MPI_INT64_T, MPI_MIN, c), "all_reduce_max_loc");
  return {out.v, best};
}

std::vector<int64_t> ProcessGroup::all_gather(int64_t value) const {
  std::vector<int64_t> all(size_t(size_), value);
  if (!comm_) return all;
  check_mpi(
      MPI_Allgather(&value, 1, MPI_INT64_T, all.data(), 1, MPI_INT64_T, live(comm_, "all_gather")),
      "all_gather");
  return all;
}

std::vector<std::string> ProcessGroup::all_gather(const std::string& bytes) const {
  if (!comm_) return {bytes};
  MPI_Comm c = live(comm_, "all_gather");
  SR_CHECK_VALUE(bytes.size() < size_t(INT32_MAX),
                 "all_gather: {} bytes from one rank (at most {})", bytes.size(), INT32_MAX - 1);
  int n = int(bytes.size());
  std::vector<int> counts(static_cast<size_t>(size_)), offsets(counts.size());
  check_mpi(MPI_Allgather(&n, 1, MPI_INT, counts.data(), 1, MPI_INT, c), "all_gather");
  int64_t total = 0;
  for (int r = 0; r < size_; ++r) offsets[size_t(r)] = int(total), total += counts[size_t(r)];
  SR_CHECK_VALUE(total < INT32_MAX, "all_gather: {} bytes in all (at most {})", total,
                 INT32_MAX - 1);
  std::string all(size_t(total), '\0');
  check_mpi(MPI_Allgatherv(bytes.data(), n, MPI_BYTE, all.data(), counts.data(), offsets.data(),
                           MPI_BYTE, c),
            "all_gather");
  std::vector<std::string> out;
  for (int r = 0; r < size_; ++r)
    out.push_back(all.substr(size_t(offsets[size_t(r)]), size_t(counts[size_t(r)])));
  return out;
}

void ProcessGroup::barrier() const {
  if (comm_) check_mpi(MPI_Barrier(live(comm_, "barrier")), "barrier");
}

void finalize_distributed() {
  if (g_we_initialised && mpi_running()) MPI_Finalize();
}

void abort_job(int exit_code) {
  if (mpi_running()) MPI_Abort(MPI_COMM_WORLD, exit_code);
}

#else  // no MPI in this build

struct ProcessGroup::Comm {};
struct ProcessGroup::Work::State {};

ProcessGroup::Work::Work() = default;
ProcessGroup::Work::Work(Work&&) noexcept = default;
ProcessGroup::Work& ProcessGroup::Work::operator=(Work&&) noexcept = default;
ProcessGroup::Work::~Work() = default;
bool ProcessGroup::Work::pending() const {
  return false;
}
void ProcessGroup::Work::wait() {}
bool ProcessGroup::Work::test() {
  return true;
}

ProcessGroup::ProcessGroup(std::unique_ptr<Comm> comm, int rank, int size)
    : comm_(std::move(comm)), rank_(rank), size_(size) {}
ProcessGroup::~ProcessGroup() = default;

ProcessGroup& ProcessGroup::world() {
  SR_CHECK_T(!launched_by_mpi() || std::getenv("OMPI_COMM_WORLD_SIZE") == nullptr ||
                 std::string(std::getenv("OMPI_COMM_WORLD_SIZE")) == "1",
             DistributedError,
             "this sraal was built without MPI, but it was started by mpirun with several "
             "processes: install libopenmpi-dev (scripts/setup.sh) and rebuild");
  return self();
}

std::unique_ptr<ProcessGroup> ProcessGroup::duplicate() const {
  return std::unique_ptr<ProcessGroup>(new ProcessGroup(nullptr, 0, 1));
}

void ProcessGroup::all_reduce_sum(Tensor& t) const {
  check_tensor(t, "all_reduce_sum");
}
void ProcessGroup::all_reduce_sum(std::vector<double>&) const {}
void ProcessGroup::all_reduce_sum(std::vector<int64_t>&) const {}
ProcessGroup::Work ProcessGroup::all_reduce_sum_async(const Tensor& t) const {
  check_tensor(t, "all_reduce_sum_async");
  return Work();
}
void ProcessGroup::broadcast(Tensor& t, int) const {
  check_tensor(t, "broadcast");
}
void ProcessGroup::broadcast(std::vector<uint8_t>&, int) const {}
std::pair<double, int64_t> ProcessGroup::all_reduce_max_loc(double value, int64_t index) const {
  return {value, index};
}
std::vector<int64_t> ProcessGroup::all_gather(int64_t value) const {
  return {value};
}
std::vector<std::string> ProcessGroup::all_gather(const std::string& bytes) const {
  return {bytes};
}
std::unique_ptr<ProcessGroup> ProcessGroup::split(int) const {
  return duplicate();
}
void ProcessGroup::barrier() const {}
void finalize_distributed() {}
void abort_job(int) {}

#endif

ProcessGroup& ProcessGroup::self() {
  static ProcessGroup group(nullptr, 0, 1);
  return group;
}

Tensor ProcessGroup::all_gather_rows(const Tensor& rows) const {
  check_tensor(rows, "all_gather_rows");
  SR_CHECK_SHAPE(rows.dim() >= 1, "all_gather_rows: {} has no rows", rows.str());
  if (size_ == 1) return rows;
  // Every rank's shape, as text: the trailing dimensions and the dtype must agree.
  std::vector<int64_t> tail(rows.shape().begin() + 1, rows.shape().end());
  const std::string mine = fmt::format("{}:{}", dtype_name(rows.dtype()), fmt::join(tail, "x"));
  std::vector<std::string> kinds = all_gather(mine);
  std::vector<int64_t> counts = all_gather(rows.size(0));
  for (size_t r = 1; r < kinds.size(); ++r)
    SR_CHECK_VALUE(kinds[r] == kinds[0],
                   "all_gather_rows: rank {} has rows {} but rank 0 has {} (dtype:trailing dims)",
                   r, kinds[r], kinds[0]);
  const std::string bytes(static_cast<const char*>(rows.raw_data()),
                          size_t(rows.numel()) * dtype_size(rows.dtype()));
  std::vector<std::string> parts = all_gather(bytes);
  int64_t n = 0;
  for (int64_t c : counts) n += c;
  std::vector<int64_t> shape = rows.shape();
  shape[0] = n;
  Tensor out = Tensor::empty(shape, rows.dtype(), Device::cpu);
  char* dst = static_cast<char*>(out.raw_data());
  for (const std::string& p : parts) dst = std::copy(p.begin(), p.end(), dst);
  return out;
}

void ProcessGroup::check_same(uint64_t value, const std::string& what) const {
  std::vector<int64_t> all = all_gather(int64_t(value));
  std::vector<int> differ;
  for (size_t r = 1; r < all.size(); ++r)
    if (all[r] != all[0]) differ.push_back(int(r));
  SR_CHECK_VALUE(differ.empty(),
                 "{} differs across the job's processes: rank(s) {} differ from rank 0", what,
                 fmt::join(differ, ", "));
}

}  // namespace sr
