// Progress and its remaining-time model (see progress.h).
#include "sraal/progress.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>

#include <fmt/format.h>

#include "engine/error.h"

namespace sr {

namespace {

double now_seconds() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

}  // namespace

EtaModel::EtaModel(std::vector<Cycle> schedule)
    : schedule_(std::move(schedule)), state_(schedule_.size()) {}

void EtaModel::skip(size_t i) {
  state_.at(i).skipped = true;
}

void EtaModel::trained(size_t i, double seconds) {
  State& s = state_.at(i);
  s.trained = true, s.train_fraction = 1;
  train_seconds_ += seconds, train_work_ += schedule_[i].train_work;
}

void EtaModel::selected(size_t i, double seconds) {
  state_.at(i).selected = true;
  selections_.emplace_back(schedule_[i].method, seconds);
}

void EtaModel::training_progress(size_t i, double fraction) {
  State& s = state_.at(i);
  if (!s.trained) s.train_fraction = std::clamp(fraction, 0.0, 1.0);
}

std::optional<double> EtaModel::train_rate() const {
  if (train_work_ <= 0) return std::nullopt;
  return train_seconds_ / train_work_;
}

std::optional<double> EtaModel::selection_seconds(const std::string& method) const {
  double own = 0, all = 0;
  int n_own = 0, n_all = 0;
  for (const auto& [m, s] : selections_) {
    all += s, ++n_all;
    if (m == method) own += s, ++n_own;
  }
  if (n_own) return own / n_own;
  if (n_all) return all / n_all;
  return std::nullopt;
}

std::optional<double> EtaModel::predicted(size_t i, bool remaining_only) const {
  const Cycle& c = schedule_[i];
  const State& s = state_[i];
  std::optional<double> rate = train_rate();
  if (!rate) return std::nullopt;
  double t = *rate * c.train_work * (remaining_only ? 1 - s.train_fraction : 1);
  if (c.selects && !(remaining_only && s.selected)) {
    std::optional<double> sel = selection_seconds(c.method);
    if (!sel) return std::nullopt;
    t += *sel;
  }
  return t;
}

std::optional<double> EtaModel::remaining_seconds() const {
  double left = 0;
  for (size_t i = 0; i < schedule_.size(); ++i) {
    if (state_[i].skipped) continue;
    std::optional<double> p = predicted(i, true);
    if (!p) return std::nullopt;
    left += *p;
  }
  return left;
}

double EtaModel::fraction_done() const {
  double left = 0, total = 0;
  for (size_t i = 0; i < schedule_.size(); ++i) {
    if (state_[i].skipped) continue;
    std::optional<double> p = predicted(i, true), all = predicted(i, false);
    if (!p || !all) return 0;
    left += *p, total += *all;
  }
  return total > 0 ? std::clamp(1 - left / total, 0.0, 1.0) : 1;
}

std::string format_eta(std::optional<double> seconds) {
  if (!seconds) return "--";
  int64_t s = int64_t(*seconds + 0.5);
  return fmt::format("{}:{:02d}:{:02d}", s / 3600, (s / 60) % 60, s % 60);
}

Progress::Progress(EtaModel model)
    : model_(std::move(model)), tty_(isatty(fileno(stderr))), start_(now_seconds()) {}

Progress::~Progress() {
  if (file_) std::fclose(file_);
}

void Progress::open_log(const std::string& path) {
  int fd = ::open(path.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0644);
  SR_CHECK_IO(fd >= 0, "{}: cannot open the run's log: {}", path, std::strerror(errno));
  file_ = ::fdopen(fd, "a");
  if (!file_) ::close(fd);
  SR_CHECK_IO(file_ != nullptr, "{}: cannot open the run's log", path);
}

void Progress::set_context(std::string ctx) {
  ctx_ = std::move(ctx);
  log(ctx_);
}

std::string Progress::percent() const {
  return fmt::format("{:3.0f}%", 100 * model_.fraction_done());
}

void Progress::detail(const std::string& what, int64_t done, int64_t total) {
  double t = now_seconds();
  // A terminal's line is rewritten up to 5 times a second; a log (a file, a pipe) gets a plain
  // line every 10 seconds.
  if (quiet_ || (t - last_ < (tty_ ? 0.2 : 10.0) && !(tty_ && done == total))) return;
  last_ = t;
  std::string line =
      fmt::format("{} | {} | {} {}/{} | ETA {}", percent(), ctx_, what, done, total, eta());
  if (tty_)
    std::fprintf(stderr, "\r\033[K%s", line.c_str());
  else
    std::fprintf(stderr, "[%s] %s\n", clock().c_str(), line.c_str());
  std::fflush(stderr);
}

void Progress::log(const std::string& msg) {
  if (!quiet_) {
    if (tty_) std::fprintf(stderr, "\r\033[K");
    std::fprintf(stderr, "[%s] %s\n", clock().c_str(), msg.c_str());
    std::fflush(stderr);
  }
  if (file_) {
    std::fprintf(file_, "[%s] %s\n", clock().c_str(), msg.c_str());
    std::fflush(file_);
  }
}

std::string Progress::clock() const {
  int64_t s = int64_t(now_seconds() - start_);
  return fmt::format("{:02d}:{:02d}:{:02d}", s / 3600, (s / 60) % 60, s % 60);
}

}  // namespace sr
