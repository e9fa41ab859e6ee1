// IR text (ir::parse_graph): any bytes. A graph that reads must print, with every value, to a text that
// reads back and prints the same (the round trip pass tests rely on); a failure of that aborts.
#include <cstdint>
#include <cstdlib>
#include <cstdio>
#include <string>

#include "fuzz_common.h"
#include "ir/text_format.h"

KILN_FUZZ_TARGET({
  const kiln::ir::Graph g = kiln::ir::parse_graph(input);
  // Printing every value of a 256 MiB constant takes longer than the per-input limit: round-trip the
  // graphs whose constants are small, as every test graph is.
  int64_t elements = 0;
  for (const kiln::ir::Value& v : g.values)
    if (v.is_constant()) elements += v.constant->numel();
  if (elements > (1 << 16)) return;
  const std::string text = kiln::ir::to_text(g, kiln::ir::TextOptions::exact());
  std::string again;
  try {
    again = kiln::ir::to_text(kiln::ir::parse_graph(text), kiln::ir::TextOptions::exact());
  } catch (const kiln::Error& e) {
    std::fprintf(stderr, "the printed graph does not read back: %s\n%s", e.what(), text.c_str());
    std::abort();
  }
  if (again != text) {
    std::fprintf(stderr, "the graph prints differently after a round trip:\n%s---\n%s", text.c_str(), again.c_str());
    std::abort();
  }
})
