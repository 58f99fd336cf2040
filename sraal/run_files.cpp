// CSV fields, UTC times, the clock and name tags of run and query files (see run_files.h).
#include "sraal/run_files.h"

#include <cmath>
#include <ctime>

#include "engine/backend.h"
#include "engine/build_info.h"

namespace sr {

double now_seconds() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

std::string utc_time(std::chrono::system_clock::time_point t) {
  std::time_t s = std::chrono::system_clock::to_time_t(t);
  std::tm tm{};
  gmtime_r(&s, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

std::string csv_field(const std::string& s) {
  if (s.find_first_of(",\"\r\n") == std::string::npos) return s;
  std::string out = "\"";
  for (char ch : s) out += ch == '"' ? std::string("\"\"") : std::string(1, ch);
  return out + "\"";
}

uint64_t fnv1a(uint64_t h, const std::string& s) {
  for (unsigned char c : s) h = (h ^ c) * 1099511628211ull;
  return h;
}

uint64_t name_tag(const std::string& s) {
  return fnv1a(kFnvBasis, s);
}

nlohmann::json manifest_header(std::chrono::system_clock::time_point started,
                               double finished_seconds, const std::string& command) {
  nlohmann::json m;
  m["version"] = SRAAL_VERSION;
  m["git_commit"] = git_commit();
  m["libraries"] = library_versions();
  m["started"] = utc_time(started);
  if (finished_seconds > 0) {
    m["finished"] = utc_time(std::chrono::system_clock::now());
    m["wall_seconds"] = std::round(finished_seconds * 10) / 10;
  }
  m["command"] = command;
  m["threads"] = get_num_threads();
  m["threads_adaptive"] = threads_adaptive();  // the count followed the load (not pinned)
  return m;
}

}  // namespace sr
