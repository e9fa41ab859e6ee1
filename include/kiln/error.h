// Kiln's one error mechanism inside the library: kiln::Error, thrown with the context a user needs
// (file and offset, node name and op, input name and shapes). Each boundary (CLI, later server and
// Python) catches it once and turns it into an exit code / HTTP status / exception.
//
// Two kinds, so a front end can tell the user's problem from ours:
//   InvalidInputError  a bad model, file, request or option: the caller can fix it (HTTP 400, exit 1).
//                      fail(...) throws this kind; it is what almost every check in the library is.
//   InternalError      a broken invariant, i.e. a Kiln bug (HTTP 500): KILN_CHECK and fail_internal(...).
// Anything else that escapes the library (std::bad_alloc, a library's own exception) is internal too.
//
// Messages are valid UTF-8 whatever bytes a file held: every byte that is not part of a well-formed UTF-8
// sequence, and every control character, is written as \xNN, so a message can go into JSON or a log line
// as it is.
#pragma once

#include <sstream>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>

namespace kiln {

// `text` with invalid UTF-8 bytes and control characters (newlines included) escaped as \xNN.
std::string printable(std::string_view text);

class Error : public std::runtime_error {
 public:
  explicit Error(const std::string& message) : std::runtime_error(printable(message)) {}
};

class InvalidInputError : public Error {
 public:
  using Error::Error;
};

class InternalError : public Error {
 public:
  using Error::Error;
};

// Concatenates any streamable values into one string: str("node '", name, "' has ", n, " inputs").
template <typename... Args>
std::string str(Args&&... args) {
  std::ostringstream os;
  (os << ... << std::forward<Args>(args));
  return os.str();
}

// Invalid input: the message says what was found, what was expected and where.
template <typename... Args>
[[noreturn]] void fail(Args&&... args) {
  throw InvalidInputError(str(std::forward<Args>(args)...));
}

// A Kiln bug.
template <typename... Args>
[[noreturn]] void fail_internal(Args&&... args) {
  throw InternalError(str("internal error: ", std::forward<Args>(args)...));
}

// Rethrows `e`, of the same kind, with `context` in front of its message: fail-style arguments.
//   catch (const Error& e) { rethrow_with_context(e, "node '", name, "' (", op, "): "); }
template <typename... Args>
[[noreturn]] void rethrow_with_context(const Error& e, Args&&... context) {
  std::string message = str(std::forward<Args>(context)..., e.what());
  if (dynamic_cast<const InternalError*>(&e)) throw InternalError(message);
  throw InvalidInputError(message);
}

}  // namespace kiln

// An internal invariant (not user input): a failure is a Kiln bug, reported with the invariant's text.
#define KILN_CHECK(cond, ...)                                                                           \
  do {                                                                                                  \
    if (!(cond))                                                                                        \
      ::kiln::fail_internal("check '", #cond, "' failed at ", __FILE__, ":", __LINE__, ": ", ##__VA_ARGS__); \
  } while (0)
