#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

#include "kiln/error.h"
#include "kiln/labeled_data.h"

namespace kiln {
namespace {

std::vector<std::string> split_tabs(std::string_view line) {
  std::vector<std::string> out;
  size_t start = 0;
  for (;;) {
    const size_t tab = line.find('\t', start);
    out.emplace_back(line.substr(start, tab == std::string_view::npos ? std::string_view::npos : tab - start));
    if (tab == std::string_view::npos) return out;
    start = tab + 1;
  }
}

bool is_integer(const std::string& s) {
  if (s.empty()) return false;
  size_t i = s[0] == '-' ? 1 : 0;
  if (i == s.size()) return false;
  for (; i < s.size(); ++i)
    if (s[i] < '0' || s[i] > '9') return false;
  return true;
}

// A column given by header name or 0-based index; -1 when `spec` is empty.
int column_of(const std::string& spec, const std::vector<std::string>& header, const std::string& name, const char* what) {
  if (spec.empty()) return -1;
  if (is_integer(spec)) {
    const long long v = spec.size() > 7 ? -1 : std::stoll(spec);
    if (v < 0 || v > 1000000) fail(name, ": ", what, " ", spec, " is not a column index (0-based)");
    return static_cast<int>(v);
  }
  for (size_t i = 0; i < header.size(); ++i)
    if (header[i] == spec) return static_cast<int>(i);
  std::string names;
  for (const std::string& h : header) names += (names.empty() ? "" : ", ") + h;
  fail(name, ": ", what, " '", spec, "' is not a column",
       header.empty() ? " (the file has no header: give an index)" : " (columns: " + names + ")");
}

}  // namespace

LabeledData parse_labeled_tsv(std::string_view bytes, const LabeledColumns& columns, const std::string& name) {
  if (columns.header != "auto" && columns.header != "yes" && columns.header != "no")
    fail("header must be auto, yes or no, got '", columns.header, "'");
  std::vector<std::vector<std::string>> lines;
  for (size_t start = 0; start < bytes.size();) {
    size_t end = bytes.find('\n', start);
    if (end == std::string_view::npos) end = bytes.size();
    std::string_view line = bytes.substr(start, end - start);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    lines.push_back(split_tabs(line));
    start = end + 1;
  }
  if (lines.empty()) fail("'", name, "' is empty");
  LabeledData data;
  data.name = name;
  // Header: explicit, or a first line whose label field is not an integer.
  int label = column_of(columns.label, lines[0], name, "label column");
  bool has_header = columns.header == "yes";
  if (columns.header == "auto") {
    int probe = label >= 0 ? label : 0;
    if (label < 0)
      for (size_t i = 0; i < lines[0].size(); ++i)
        if (lines[0][i] == "label") probe = static_cast<int>(i);
    has_header = probe >= static_cast<int>(lines[0].size()) || !is_integer(lines[0][probe]);
  }
  if (has_header) data.header = lines[0];
  if (label < 0) {
    label = 0;
    for (size_t i = 0; i < data.header.size(); ++i)
      if (data.header[i] == "label") label = static_cast<int>(i);
  }
  int text = column_of(columns.text, data.header, name, "text column");
  int pair = column_of(columns.pair, data.header, name, "pair column");
  const size_t width = lines[has_header ? std::min<size_t>(1, lines.size() - 1) : 0].size();
  std::vector<int> others;
  for (int i = 0; i < static_cast<int>(std::max(width, data.header.size())); ++i)
    if (i != label) others.push_back(i);
  if (text < 0) text = others.empty() ? 1 : others[0];
  if (pair < 0 && columns.pair.empty() && others.size() >= 2 && others[1] != text) pair = others[1];
  data.pairs = pair >= 0;
  const int need = std::max({label, text, pair}) + 1;
  for (size_t i = has_header ? 1 : 0; i < lines.size(); ++i) {
    const std::vector<std::string>& c = lines[i];
    if (c.size() == 1 && c[0].empty()) continue;  // blank line
    if (static_cast<int>(c.size()) < need)
      fail(name, ":", i + 1, ": expected at least ", need, " tab-separated columns, found ", c.size());
    if (!is_integer(c[label])) fail(name, ":", i + 1, ": label '", c[label], "' is not an integer");
    int64_t value = 0;
    try {
      value = std::stoll(c[label]);
    } catch (const std::out_of_range&) {
      fail(name, ":", i + 1, ": label '", c[label], "' is out of range");
    }
    data.examples.push_back({c[text], pair >= 0 ? c[pair] : "", value, i + 1});
  }
  if (data.examples.empty()) fail("'", name, "' has no rows");
  return data;
}

LabeledData read_labeled_tsv(const std::string& path, const LabeledColumns& columns) {
  std::ifstream f(path, std::ios::binary);
  if (!f) fail("cannot read '", path, "': ", std::strerror(errno));
  std::ostringstream ss;
  ss << f.rdbuf();
  return parse_labeled_tsv(ss.str(), columns, path);
}

}  // namespace kiln
