// The processes of a data-parallel job and their collectives, on MPI (Open MPI).
//
// A job started by mpirun/mpiexec is a group of `size()` processes ("ranks"); one started
// without it is a group of one, and everything below then works without MPI: sums are the
// values themselves, broadcasts change nothing. Collectives are called by every rank of the
// group, in the same order (MPI's rule); a rank that skips one leaves the others waiting, so
// callers keep the code path the same on every rank and gate only file writes on is_root().
//
// Tensors: contiguous CPU tensors of any dtype (f32, i32, i64). CUDA tensors (NCCL) are not
// supported yet: passing one is a DeviceError naming the op.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "engine/tensor.h"

namespace sr {

// Was this process started by an MPI launcher (mpirun, mpiexec, srun with PMI)? Read from the
// environment the launchers set; decides whether world() initialises MPI.
bool launched_by_mpi();

// Was this build compiled with MPI (CMake found it)?
bool mpi_available();

class ProcessGroup {
 public:
  // The job: every rank when launched_by_mpi() (MPI is initialised at the first call), else this
  // process alone. A ConfigError when launched by mpirun but built without MPI.
  static ProcessGroup& world();
  // This process alone, with the same interface (the single-process reference in tests).
  static ProcessGroup& self();
  // A group of the same ranks on a communicator of its own, so that its collectives never pair
  // with another group's (the gradient reducer's run beside those of synchronised batch norm).
  std::unique_ptr<ProcessGroup> duplicate() const;
  // The ranks that pass the same `color` as this one, as a group of their own (MPI_Comm_split,
  // ranks in their order here): called by every rank. Groups of ranks that train one model while
  // other groups train others (sraal run --distribute trials).
  std::unique_ptr<ProcessGroup> split(int color) const;

  ~ProcessGroup();
  ProcessGroup(const ProcessGroup&) = delete;
  ProcessGroup& operator=(const ProcessGroup&) = delete;

  int rank() const { return rank_; }
  int size() const { return size_; }
  bool is_root() const { return rank_ == 0; }
  // The ranks of this group on this machine, and this one's place among them (threads per rank
  // and, on CUDA, the GPU of a rank come from these).
  int local_rank() const { return local_rank_; }
  int local_size() const { return local_size_; }

  // Every rank gets the element-wise sum over ranks, in place.
  void all_reduce_sum(Tensor& t) const;
  void all_reduce_sum(std::vector<double>& values) const;
  void all_reduce_sum(std::vector<int64_t>& values) const;
  // The same, started now and finished by wait(): the tensor must not be touched before then
  // (Work keeps it alive). test() lets MPI make progress and says whether it has finished.
  class Work {
   public:
    Work();
    Work(Work&&) noexcept;
    Work& operator=(Work&&) noexcept;
    ~Work();  // waits when still running
    void wait();
    bool test();
    bool pending() const;

   private:
    friend class ProcessGroup;
    struct State;
    std::unique_ptr<State> s_;
  };
  Work all_reduce_sum_async(const Tensor& t) const;
  // Rank `root`'s values into every rank's tensor of the same shape and dtype.
  void broadcast(Tensor& t, int root = 0) const;
  void broadcast(std::vector<uint8_t>& bytes, int root = 0) const;  // sizes may differ
  // The largest value over ranks and the index that came with it (ties: the smallest index),
  // as MPI_MAXLOC: a global arg-max from per-rank arg-maxes.
  std::pair<double, int64_t> all_reduce_max_loc(double value, int64_t index) const;
  // One value from every rank, in rank order.
  std::vector<int64_t> all_gather(int64_t value) const;
  std::vector<std::string> all_gather(const std::string& bytes) const;  // sizes may differ
  // The rows of every rank's `rows` (n_r, ...), concatenated in rank order: (sum n_r, ...), the
  // same on every rank. The trailing dimensions and the dtype must agree (ValueError naming the
  // ranks' shapes otherwise); a rank may contribute no rows.
  Tensor all_gather_rows(const Tensor& rows) const;
  void barrier() const;
  // A ValueError on every rank, naming `what` and the ranks that differ from rank 0, unless
  // all ranks passed the same value (a hash of the configuration, say).
  void check_same(uint64_t value, const std::string& what) const;

  struct Comm;  // the MPI communicator (opaque: no MPI header here)

 private:
  ProcessGroup(std::unique_ptr<Comm> comm, int rank, int size);
  std::unique_ptr<Comm> comm_;  // null: a group of one without MPI
  int rank_ = 0, size_ = 1, local_rank_ = 0, local_size_ = 1;
};

// Ends MPI (when world() started it) once every rank has arrived; the app calls it before it
// returns. Later collectives are errors.
void finalize_distributed();
// Brings the whole job down after an error on this rank (MPI_Abort), so that no other rank waits
// for it forever. Only for the executable's top level; without MPI it returns.
void abort_job(int exit_code);

}  // namespace sr
