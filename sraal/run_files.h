// Small pieces shared by the files `sraal run` and `sraal query` write: CSV fields, UTC times,
// a monotonic clock, the stable tag of a name that seeds derive from, and the common part of
// their manifests.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>

#include <nlohmann/json.hpp>

namespace sr {

// Seconds on a monotonic clock (for durations).
double now_seconds();
// "2026-12-03T09:13:05Z".
std::string utc_time(std::chrono::system_clock::time_point t);
// A CSV field: quoted (quotes doubled) when it holds a comma, quote or line break.
std::string csv_field(const std::string& s);
// Stable 64-bit tag of a name (FNV-1a), for seed derivation: derive_seed(seed, name_tag(m)).
uint64_t name_tag(const std::string& s);
// Also FNV-1a: `h` continued over the bytes of `s` (start from kFnvBasis).
constexpr uint64_t kFnvBasis = 1469598103934665603ull;
uint64_t fnv1a(uint64_t h, const std::string& s);

// What every manifest.json starts with: version, git commit, library versions, start time (and
// with finished_seconds > 0 the end and wall time), the command line and the CPU threads (and
// whether their count followed the load).
nlohmann::json manifest_header(std::chrono::system_clock::time_point started,
                               double finished_seconds, const std::string& command);

}  // namespace sr
