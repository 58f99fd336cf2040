// sraal: the command-line entry point. Parses the subcommand, runs it, and turns every error
// into one line on stderr and a non-zero exit code.
//
// Under mpirun (several processes) every rank runs the command; only rank 0 prints to stdout,
// the ranks check at start that they were given the same command line, each rank takes its
// share of the machine's CPUs, and an error on any rank brings the whole job down (MPI_Abort)
// instead of leaving the others waiting. `train` and `run` are distributed; the other commands
// refuse.
#include <cstdio>
#include <map>
#include <thread>

#include "app/commands.h"
#include "engine/backend.h"
#include "engine/cpu/cpu_backend.h"
#include "engine/distributed.h"
#include "engine/error.h"
#include "sraal/run_files.h"

int main(int argc, char** argv) {
  sr::app::set_command_line(argc, argv);
  CLI::App app{"sraal: State-Relabeling Adversarial Active Learning on a from-scratch engine"};
  app.set_version_flag("--version", sr::app::version_string());
  app.require_subcommand(1);
  int threads = 0;
  // More threads than CPUs only slows every step (and OpenBLAS would silently cap them).
  const int cpus = sr::get_num_cpus();
  app.add_option("--threads", threads,
                 fmt::format("CPU threads, at most this process's {} CPUs (default: all)", cpus))
      ->check(sr::app::integer_in(0, cpus));
  // Engine-wide settings of the CUDA backend (engine/backend.h); they change nothing on the CPU.
  bool deterministic = false, tf32 = false, cudnn_benchmark = false;
  app.add_flag("--deterministic", deterministic,
               "CUDA: bitwise-repeatable results (deterministic cuDNN algorithms, no atomics)");
  app.add_flag("--tf32", tf32, "CUDA: allow TF32 tensor-core math in GEMMs and convolutions");
  app.add_flag("--cudnn-benchmark", cudnn_benchmark,
               "CUDA: time cuDNN's convolution algorithms once per shape and keep the fastest");
  std::string cpu_conv = "auto";
  const std::map<std::string, sr::CpuConvAlgorithm> cpu_conv_names{
      {"auto", sr::CpuConvAlgorithm::automatic},
      {"onednn", sr::CpuConvAlgorithm::onednn},
      {"gemm", sr::CpuConvAlgorithm::gemm},
      {"winograd", sr::CpuConvAlgorithm::winograd}};
  app.add_option(
         "--cpu-conv", cpu_conv,
         "CPU convolutions: auto (oneDNN's direct kernels, Winograd F(4x4,3x3), polyphase "
         "Winograd and im2col + sgemm where those measured faster), onednn, gemm (im2col + sgemm "
         "wherever it applies) or winograd (F(2x2,3x3) or F(4x4,3x3) for every 3x3 stride-1 "
         "layer, polyphase F(m x m,2x2) for every 4x4 stride-2 one)")
      ->check(CLI::IsMember({"auto", "onednn", "gemm", "winograd"}))
      ->capture_default_str();

  std::map<CLI::App*, sr::app::Runner> runners;
  auto add = [&](const char* name, const char* help, sr::app::Runner (*make)(CLI::App&)) {
    CLI::App* sub = app.add_subcommand(name, help);
    runners[sub] = make(*sub);
  };
  add("run", "run an active-learning experiment (SRAAL and baselines); the main job",
      sr::app::add_run);
  add("query",
      "active learning on your own images: the unlabeled images to label next, from a folder "
      "of labeled class folders, a budget and a method",
      sr::app::add_query);
  add("info", "print the build: version, compiler, backends and library versions",
      sr::app::add_info);
  add("train", "train a model on a dataset and report its test metric", sr::app::add_train);
  add("predict", "run a saved model on an .npy batch and write its outputs as .npy",
      sr::app::add_predict);
  add("bench", "time training steps on the chosen device", sr::app::add_bench);
  add("data", "load a dataset and print its splits, classes, counts, mean/std and fingerprints",
      sr::app::add_data);

  const sr::ProcessGroup* world = nullptr;
  // The job's error path: this rank's message, then every rank stops.
  auto fail = [&](const char* what) {
    if (world && world->size() > 1) {
      std::fprintf(stderr, "sraal: error (rank %d of %d): %s\n", world->rank(), world->size(),
                   what);
      std::fflush(stderr);
      sr::abort_job(1);
    }
    std::fprintf(stderr, "sraal: error: %s\n", what);
    return 1;
  };
  try {
    world = &sr::ProcessGroup::world();
    // Only rank 0 prints to stdout (help included); errors go to every rank's stderr.
    if (world->size() > 1 && !world->is_root() && !std::freopen("/dev/null", "w", stdout))
      SR_CHECK_IO(false, "rank {}: cannot silence its stdout", world->rank());
  } catch (const std::exception& e) {
    return fail(e.what());
  }
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    int rc = app.exit(e);
    if (world->size() > 1 && rc != 0) sr::abort_job(rc);
    return rc;
  }
  try {
    if (world->size() > 1) {
      std::string line;
      for (int i = 1; i < argc; ++i) line += std::string(argv[i]) + '\0';
      world->check_same(sr::fnv1a(sr::kFnvBasis, line), "the command line");
      for (auto& [sub, run] : runners)
        SR_CHECK_VALUE(!sub->parsed() || sub->get_name() == "train" || sub->get_name() == "run" ||
                           sub->get_name() == "query",
                       "sraal {} does not run over several processes yet (mpirun -np {}); start "
                       "it without mpirun (sraal train, run and query run distributed)",
                       sub->get_name(), world->size());
      // Each rank takes its share of the CPUs it may use (all of them unless mpirun bound it).
      if (threads == 0) {
        int cpus = sr::get_num_cpus();
        bool bound = cpus < int(std::thread::hardware_concurrency());
        sr::set_num_threads(std::max(1, bound ? cpus : cpus / world->local_size()));
      }
    }
    if (threads > 0) sr::set_num_threads(threads);
    sr::set_deterministic(deterministic);
    sr::set_allow_tf32(tf32);
    sr::set_cudnn_benchmark(cudnn_benchmark);
    sr::set_cpu_conv_algorithm(cpu_conv_names.at(cpu_conv));
    for (auto& [sub, run] : runners)
      if (sub->parsed()) {
        int rc = run();
        std::fflush(stdout);
        sr::finalize_distributed();
        return rc;
      }
  } catch (const std::exception& e) {
    return fail(e.what());
  }
  sr::finalize_distributed();
  return 0;
}
