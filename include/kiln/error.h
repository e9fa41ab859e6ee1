// Kiln's one error mechanism inside the library: kiln::Error, thrown with the context a user needs
// (file and offset, node name and op, input name and shapes). Each boundary (CLI, later server and
// Python) catches it once and turns it into an exit code / HTTP status / exception.
#pragma once

#include <sstream>
#include <stdexcept>
#include <string>
#include <utility>

namespace kiln {

class Error : public std::runtime_error {
 public:
  explicit Error(const std::string& message) : std::runtime_error(message) {}
};

// Concatenates any streamable values into one string: str("node '", name, "' has ", n, " inputs").
template <typename... Args>
std::string str(Args&&... args) {
  std::ostringstream os;
  (os << ... << std::forward<Args>(args));
  return os.str();
}

template <typename... Args>
[[noreturn]] void fail(Args&&... args) {
  throw Error(str(std::forward<Args>(args)...));
}

}  // namespace kiln

// An internal invariant (not user input): a failure is a Kiln bug, reported with the invariant's text.
#define KILN_CHECK(cond, ...)                                                                  \
  do {                                                                                         \
    if (!(cond))                                                                               \
      ::kiln::fail("internal error: check '", #cond, "' failed at ", __FILE__, ":", __LINE__, \
                   ": ", ##__VA_ARGS__);                                                       \
  } while (0)
