// CLI11 validators with messages a user can act on ("--epochs: must be an integer from 1 to
// 100000, got '0'"), instead of CLI11's generic range text. Each checks the option's text
// before it is converted, so no value is clamped or wrapped on the way (a "-1" seed does not
// become 2^64 - 1).
#pragma once

#include <fmt/format.h>
#include <CLI/CLI.hpp>

#include <cmath>
#include <cstdint>
#include <string>

namespace sr::app {

// Upper bounds of the counts the commands take: far above any sensible value, low enough that
// a typo (an extra zero or three) fails at once instead of running for days or overflowing.
constexpr int64_t kMaxEpochs = 100000;
constexpr int64_t kMaxIterations = 10000000;
constexpr int64_t kMaxTrials = 1000;
constexpr int64_t kMaxBatch = 1 << 20;
constexpr int64_t kMaxImageSize = 8192;

inline bool parse_int64(const std::string& s, int64_t& v) {
  if (s.empty()) return false;
  size_t used = 0;
  try {
    v = std::stoll(s, &used, 10);
  } catch (const std::exception&) {
    return false;
  }
  return used == s.size();
}

// An integer in [lo, hi].
inline CLI::Validator integer_in(int64_t lo, int64_t hi) {
  return CLI::Validator(
      [lo, hi](std::string& s) -> std::string {
        int64_t v = 0;
        if (parse_int64(s, v) && v >= lo && v <= hi) return "";
        return fmt::format("must be an integer from {} to {}, got '{}'", lo, hi, s);
      },
      fmt::format("INT in [{}, {}]", lo, hi));
}

// A seed: decimal digits only, 0 to 2^64 - 1.
inline CLI::Validator seed_value() {
  return CLI::Validator(
      [](std::string& s) -> std::string {
        bool digits =
            !s.empty() && s.size() <= 20 && s.find_first_not_of("0123456789") == std::string::npos;
        if (digits && (s.size() < 20 || s <= "18446744073709551615")) return "";
        return fmt::format("must be an integer from 0 to 18446744073709551615, got '{}'", s);
      },
      "UINT64");
}

// A finite number in (lo, hi].
inline CLI::Validator number_above(double lo, double hi) {
  return CLI::Validator(
      [lo, hi](std::string& s) -> std::string {
        size_t used = 0;
        double v = 0;
        try {
          v = std::stod(s, &used);
        } catch (const std::exception&) {
          used = 0;
        }
        if (used == s.size() && std::isfinite(v) && v > lo && v <= hi) return "";
        return fmt::format("must be a finite number above {:g} and at most {:g}, got '{}'", lo, hi,
                           s);
      },
      fmt::format("NUMBER in ({:g}, {:g}]", lo, hi));
}

}  // namespace sr::app
