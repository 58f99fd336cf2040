// The CPU backend's thread count: pinned by the user, or adapted to the machine's load.
//
// On a small machine one busy neighbour process turns OpenMP's static split into a stall: with
// 2 threads on 2 cores each parallel region waits for the thread that shares its core with the
// neighbour (a width-1/4 ResNet step: 3.4x slower; with 1 thread: 1.6x; docs/PERFORMANCE.md).
// Adaptive mode (the default) measures, at most once a second and only at optimiser steps
// (outside every parallel region), how many CPUs' worth of time other processes used since the
// last look: the busy time of the whole machine (/proc/stat) minus this process's own CPU time
// (getrusage, which counts our spinning threads too), and runs on the CPUs left over.
#include <omp.h>
#include <sched.h>
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <mutex>

#include "engine/backend.h"
#include "engine/cpu/cpu_backend.h"

namespace sr {

namespace {

struct Governor {
  std::mutex mu;
  bool pinned = false;
  bool primed = false;
  double wall = 0, busy = 0, self = 0;  // seconds at the last look
};

Governor& governor() {
  static Governor g;
  return g;
}

void apply_threads(int n) {
  omp_set_num_threads(n);
  set_blas_threads(n);
}

double wall_seconds() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

// CPU-seconds the whole machine has been busy (user, nice, system, irq, softirq), or -1.
double machine_busy_seconds() {
  std::FILE* f = std::fopen("/proc/stat", "r");
  if (!f) return -1;
  unsigned long long user = 0, nice = 0, system = 0, idle = 0, iowait = 0, irq = 0, softirq = 0;
  int n = std::fscanf(f, "cpu %llu %llu %llu %llu %llu %llu %llu", &user, &nice, &system, &idle,
                      &iowait, &irq, &softirq);
  std::fclose(f);
  if (n != 7) return -1;
  static const double tick = double(sysconf(_SC_CLK_TCK));
  return double(user + nice + system + irq + softirq) / tick;
}

double self_cpu_seconds() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  auto s = [](const timeval& t) { return double(t.tv_sec) + 1e-6 * double(t.tv_usec); };
  return s(u.ru_utime) + s(u.ru_stime);
}

}  // namespace

int threads_for_load(int cpus, double others) {
  if (!(others > 0)) others = 0;  // also NaN
  return std::clamp(int(std::lround(double(cpus) - others)), 1, std::max(cpus, 1));
}

void set_num_threads(int n) {
  if (n <= 0) return;
  std::lock_guard<std::mutex> lock(governor().mu);
  governor().pinned = true;
  apply_threads(n);
}

void unpin_threads() {
  std::lock_guard<std::mutex> lock(governor().mu);
  governor().pinned = false;
  governor().primed = false;
}

int get_num_threads() {
  return omp_get_max_threads();
}

int get_num_cpus() {
  cpu_set_t set;
  CPU_ZERO(&set);
  if (sched_getaffinity(0, sizeof(set), &set) == 0) return std::max(1, CPU_COUNT(&set));
  return std::max(1, omp_get_num_procs());
}

bool threads_adaptive() {
  std::lock_guard<std::mutex> lock(governor().mu);
  return !governor().pinned && !deterministic();
}

void adapt_threads() {
  Governor& g = governor();
  std::lock_guard<std::mutex> lock(g.mu);
  if (g.pinned || deterministic() || omp_in_parallel()) return;
  double now = wall_seconds();
  if (g.primed && now - g.wall < 1.0) return;
  double busy = machine_busy_seconds(), self = self_cpu_seconds();
  if (busy < 0) return;  // no /proc: keep the count
  if (g.primed) {
    double dt = now - g.wall;
    double others = ((busy - g.busy) - (self - g.self)) / dt;
    int want = threads_for_load(get_num_cpus(), others);
    if (want != omp_get_max_threads()) apply_threads(want);
  }
  g.primed = true;
  g.wall = now, g.busy = busy, g.self = self;
}

}  // namespace sr
