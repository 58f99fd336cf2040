// Progress of an experiment: how long it has left, from the work each step costs, and the
// lines that show it (one rewritten line on a terminal, plain log lines otherwise, every log
// line also in the run's run.log).
//
// EtaModel: the experiment is a schedule of cycles (trial x method x cycle, in run order). A
// cycle trains the target for epochs x labeled items and, except the last of a track, runs its
// method's selection. Training is predicted at the seconds per item-epoch measured so far;
// a selection as long as that method's selections took so far (before its first: the mean of
// every method's). Cycles finished by an earlier process (a resumed run) take no part.
#pragma once

#include <cstdint>
#include <cstdio>
#include <optional>
#include <string>
#include <vector>

namespace sr {

class EtaModel {
 public:
  struct Cycle {
    std::string method;
    double train_work = 0;  // epochs x labeled items
    bool selects = false;   // not the last cycle of its track
  };
  explicit EtaModel(std::vector<Cycle> schedule);

  void skip(size_t i);  // finished by an earlier process
  void trained(size_t i, double seconds);
  void selected(size_t i, double seconds);
  // The cycle under way has done `fraction` of its training (by epochs).
  void training_progress(size_t i, double fraction);

  // Seconds left; nullopt until a training and (if the schedule selects at all) a selection
  // have been timed.
  std::optional<double> remaining_seconds() const;
  // Fraction of the (predicted) work of this process done, in [0, 1]; 0 without an estimate.
  double fraction_done() const;

 private:
  struct State {
    bool skipped = false, trained = false, selected = false;
    double train_fraction = 0;
  };
  std::optional<double> train_rate() const;  // seconds per item-epoch
  std::optional<double> selection_seconds(const std::string& method) const;
  std::optional<double> predicted(size_t i, bool remaining_only) const;

  std::vector<Cycle> schedule_;
  std::vector<State> state_;
  double train_seconds_ = 0, train_work_ = 0;
  std::vector<std::pair<std::string, double>> selections_;  // (method, seconds) timed
};

// "1:02:03", or "--" without an estimate.
std::string format_eta(std::optional<double> seconds);

class Progress {
 public:
  explicit Progress(EtaModel model);
  ~Progress();
  Progress(const Progress&) = delete;
  Progress& operator=(const Progress&) = delete;

  // Every log line also goes to `path` (appended: a resumed run continues the log). Opened
  // without following a symbolic link, so the run writes only inside its directory.
  void open_log(const std::string& path);
  EtaModel& model() { return model_; }
  // Nothing on stderr from now on (the other ranks of an MPI job: rank 0 reports).
  void silence() { quiet_ = true; }

  void set_context(std::string ctx);
  // Percent, context, `what` done/total and ETA: a line rewritten on a terminal (at most 5 a
  // second), a plain line every 10 seconds otherwise (stderr only, not run.log).
  void detail(const std::string& what, int64_t done, int64_t total);
  void log(const std::string& msg);
  std::string eta() const { return format_eta(model_.remaining_seconds()); }
  std::string percent() const;

 private:
  std::string clock() const;
  EtaModel model_;
  bool tty_, quiet_ = false;
  double start_, last_ = 0;
  std::string ctx_;
  std::FILE* file_ = nullptr;
};

}  // namespace sr
