// The conformance runner's second path: an artifact run through kiln::Session directly (no Engine, no CLI).
//
//   kiln_session_runner ARTIFACT --input NAME=FILE.npy ... --output-dir DIR [--threads N]
//
// Writes DIR/<output name>.npy for every model output. Errors are one `kiln: error: ...` line, exit 1
// (the same contract as the kiln binary, so the runner classifies both paths alike).
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <filesystem>
#include <string>
#include <vector>

#include "kiln/npy.h"
#include "kiln/error.h"
#include "kiln/session.h"

namespace {

std::string file_name_for(const std::string& output_name) {
  std::string s = output_name;
  for (char& c : s)
    if (c == '/' || c == '\\' || c == ':') c = '_';
  return s;
}

int run(int argc, char** argv) {
  std::string artifact, out_dir;
  std::vector<kiln::NamedTensor> inputs;
  kiln::SessionOptions options;
  options.threads = 1;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    auto next = [&]() -> std::string {
      if (i + 1 >= argc) kiln::fail("option ", a, " needs a value");
      return argv[++i];
    };
    if (a == "--input") {
      const std::string v = next();
      const size_t eq = v.find('=');
      if (eq == std::string::npos || eq == 0) kiln::fail("--input expects NAME=FILE.npy, got '", v, "'");
      inputs.push_back({v.substr(0, eq), kiln::read_npy(v.substr(eq + 1))});
    } else if (a == "--output-dir") {
      out_dir = next();
    } else if (a == "--threads") {
      options.threads = std::atoi(next().c_str());
    } else if (artifact.empty() && !a.empty() && a[0] != '-') {
      artifact = a;
    } else {
      kiln::fail("unexpected argument '", a, "'");
    }
  }
  if (artifact.empty() || out_dir.empty()) kiln::fail("usage: kiln_session_runner ARTIFACT --input NAME=FILE.npy ... --output-dir DIR");
  kiln::Session session(artifact, options);
  std::vector<kiln::NamedTensor> outputs = session.run(inputs);
  std::filesystem::create_directories(out_dir);
  for (const kiln::NamedTensor& o : outputs) kiln::write_npy(out_dir + "/" + file_name_for(o.name) + ".npy", o.tensor);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  try {
    return run(argc, argv);
  } catch (const std::exception& e) {
    std::string msg = e.what();
    for (char& c : msg)
      if (c == '\n' || c == '\r') c = ' ';
    std::fprintf(stderr, "kiln: error: %s\n", msg.c_str());
    return 1;
  }
}
