// The `kiln` binary: subcommand dispatch and the CLI's one error boundary.
#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <string>
#include <vector>

#include "cli/commands.h"
#include "kiln/error.h"
#include "kiln/version.h"
#include "kiln/wait_policy.h"

namespace kiln::cli {

std::string human_bytes(double b) {
  const char* units[] = {"B", "KiB", "MiB", "GiB"};
  int u = 0;
  while (b >= 1024 && u < 3) {
    b /= 1024;
    ++u;
  }
  char buf[32];
  std::snprintf(buf, sizeof buf, u ? "%.1f %s" : "%.0f %s", b, units[u]);
  return buf;
}

}  // namespace kiln::cli

namespace {

// Errors are one line of valid UTF-8 (kiln::printable escapes newlines and bytes that are not UTF-8): a
// user's terminal or a log parser should never get a multi-line message or raw bytes from a file.
void print_error(const std::string& msg) { std::fprintf(stderr, "kiln: error: %s\n", kiln::printable(msg).c_str()); }

}  // namespace

int main(int argc, char** argv) {
  using namespace kiln::cli;
  // OMP_WAIT_POLICY is read by libgomp when it loads, before main: a command's --wait-policy is applied
  // by re-executing kiln (kiln::ensure_wait_policy), before the command does anything.
  CLI::App app{"kiln: ahead-of-time compiler and runtime for transformer inference on CPUs.\n"
               "Typical use: analyze -> compile -> inspect -> run.",
               "kiln"};
  app.set_version_flag("--version", kiln::version_line());
  app.require_subcommand(1);
  std::map<CLI::App*, Command> commands;
  std::vector<std::string> names;  // in registration order, for the error below
  auto add = [&](const char* name, Command (*adder)(CLI::App&)) {
    Command c = adder(app);
    commands[app.get_subcommand(name)] = std::move(c);
    names.push_back(name);
  };
  add("analyze", add_analyze);
  add("compile", add_compile);
  add("inspect", add_inspect);
  add("run", add_run);
  add("bench", add_bench);
  add("profile", add_profile);
  add("ls", add_ls);
  add("tokenize", add_tokenize);
  add("eval", add_eval);
  add("serve", add_serve);
  add("top", add_top);
  add("tune", add_tune);
  // CLI11 calls a missing command "A subcommand is required" and a misspelt one an unexpected argument: name
  // the commands instead. The app's own flags (--help, --version) take no values, so the first word that is
  // not a flag is the command.
  std::string listed;
  for (const std::string& n : names) listed += (listed.empty() ? "" : ", ") + n;
  const char* const* command = std::find_if(argv + 1, argv + argc, [](const char* a) { return a[0] != '-'; });
  if (command != argv + argc && std::find(names.begin(), names.end(), *command) == names.end()) {
    print_error(std::string("unknown command '") + *command + "' (commands: " + listed + ")");
    return 2;
  }
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForVersion& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    if (command == argv + argc) print_error("no command given (commands: " + listed + "; see 'kiln --help')");
    else print_error(std::string(e.what()) + " (see 'kiln --help')");
    return 2;
  }
  try {
    for (auto& [sub, run] : commands) {
      if (!sub->parsed()) continue;
      if (const CLI::Option* o = sub->get_option_no_throw("--wait-policy"); o && o->count())
        kiln::ensure_wait_policy(kiln::parse_wait_policy(o->as<std::string>()), argv);
      return run();
    }
    print_error("no subcommand given (see 'kiln --help')");
    return 2;
  } catch (const kiln::InternalError& e) {
    print_error(e.what());
    return 3;
  } catch (const kiln::Error& e) {
    print_error(e.what());
  } catch (const std::bad_alloc&) {
    print_error("out of memory");
  } catch (const std::exception& e) {
    // Not a kiln::Error: a library's exception that escaped a check, which is a Kiln bug.
    print_error(std::string("internal error: ") + e.what());
    return 3;
  }
  return 1;
}
