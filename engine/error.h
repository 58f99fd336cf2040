// Typed exceptions of the engine and the check macros that throw them.
//
// Library code never exits: every fault is one of these exceptions with a message that names
// the op, the shapes or the file involved. `sraal` (app/) turns them into one line on stderr and
// a non-zero exit.
#pragma once

#include <fmt/format.h>

#include <stdexcept>
#include <string>

namespace sr {

struct Error : std::runtime_error {
  using std::runtime_error::runtime_error;
};
// A tensor has the wrong shape, rank or layout for an op.
struct ShapeError : Error {
  using Error::Error;
};
// A tensor has the wrong element type.
struct DTypeError : Error {
  using Error::Error;
};
// Tensors on different devices, or a device that is not available.
struct DeviceError : Error {
  using Error::Error;
};
// An op has no kernel for the requested device (empty dispatch slot).
struct NotImplementedError : Error {
  using Error::Error;
};
// A bad argument value (negative size, unknown option, probability outside [0, 1], ...).
struct ValueError : Error {
  using Error::Error;
};
// A file is missing, unreadable, corrupt or of the wrong format.
struct IOError : Error {
  using Error::Error;
};
// A value that must be finite became NaN or infinite (a diverged training loss).
struct NumericalError : Error {
  using Error::Error;
};
// Misuse of autograd (backward twice through a freed graph, non-scalar root without a gradient).
struct AutogradError : Error {
  using Error::Error;
};
// A collective across the processes of a job failed, or its ranks disagree (engine/distributed.h).
struct DistributedError : Error {
  using Error::Error;
};

}  // namespace sr

// Throws `Type(fmt::format(...))` when `cond` is false.
#define SR_CHECK_T(cond, Type, ...)                      \
  do {                                                   \
    if (!(cond)) throw Type(::fmt::format(__VA_ARGS__)); \
  } while (0)

#define SR_CHECK(cond, ...) SR_CHECK_T(cond, ::sr::Error, __VA_ARGS__)
#define SR_CHECK_SHAPE(cond, ...) SR_CHECK_T(cond, ::sr::ShapeError, __VA_ARGS__)
#define SR_CHECK_VALUE(cond, ...) SR_CHECK_T(cond, ::sr::ValueError, __VA_ARGS__)
#define SR_CHECK_DTYPE(cond, ...) SR_CHECK_T(cond, ::sr::DTypeError, __VA_ARGS__)
#define SR_CHECK_IO(cond, ...) SR_CHECK_T(cond, ::sr::IOError, __VA_ARGS__)
