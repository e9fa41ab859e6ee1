// Printer and reader of the IR text form (grammar in text_format.h). The reader is a hand-written
// recursive descent over the bytes with one character of lookahead; it keeps line and column for its
// messages and bounds what the text can make it allocate (constants), since it also reads fuzzed bytes.
#include "ir/text_format.h"

#include <cctype>
#include <charconv>
#include <cmath>
#include <cstring>
#include <map>
#include <set>
#include <sstream>

#include "kiln/error.h"
#include "util/half.h"

namespace kiln::ir {
namespace {

// ---- names ---------------------------------------------------------------------------------------------

bool is_name_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '.' ||
         c == '-' || c == '/';
}

// Length of the bare name at the start of `s`: name chars, and "::" when a name char follows it.
size_t scan_bare(std::string_view s) {
  size_t i = 0;
  while (i < s.size()) {
    if (is_name_char(s[i])) {
      ++i;
    } else if (s[i] == ':' && i + 2 < s.size() && s[i + 1] == ':' && is_name_char(s[i + 2])) {
      i += 2;
    } else {
      break;
    }
  }
  return i;
}

std::string quoted(std::string_view s) {
  static const char* hex = "0123456789abcdef";
  std::string out = "\"";
  for (char ch : s) {
    const auto c = static_cast<unsigned char>(ch);
    if (c == '"' || c == '\\') {
      out += '\\';
      out += ch;
    } else if (c == '\n') {
      out += "\\n";
    } else if (c == '\t') {
      out += "\\t";
    } else if (c < 0x20 || c == 0x7f) {
      out += "\\x";
      out += hex[c >> 4];
      out += hex[c & 15];
    } else {
      out += ch;
    }
  }
  return out + "\"";
}

std::string name_text(std::string_view s) { return !s.empty() && scan_bare(s) == s.size() ? std::string(s) : quoted(s); }

// A symbolic dim must not read as a number or as '?'.
std::string symbol_text(const std::string& s) {
  if (s.empty()) return "?";
  const bool bare = scan_bare(s) == s.size() && !(s[0] >= '0' && s[0] <= '9') && s[0] != '-' && s[0] != '.';
  return bare ? s : quoted(s);
}

// ---- numbers -------------------------------------------------------------------------------------------

template <typename T> std::string shortest(T v) {
  if (std::isnan(v)) return "nan";
  if (std::isinf(v)) return v < 0 ? "-inf" : "inf";
  char buf[64];
  auto r = std::to_chars(buf, buf + sizeof buf, v);
  return std::string(buf, r.ptr);
}

// An attribute float: ONNX stores float32, so a double that is exactly a float prints as that float's
// shortest text; it always reads as a float (never as an integer).
std::string attr_float_text(double v) {
  const float f = static_cast<float>(v);
  std::string s = (static_cast<double>(f) == v || std::isnan(v)) ? shortest(f) : shortest(v);
  if (s.find_first_of(".ein") == std::string::npos) s += ".0";
  return s;
}

std::string element_text(const Tensor& t, int64_t i) {
  switch (t.dtype()) {
    case DType::f32: return shortest(t.data_as<float>()[i]);
    case DType::f64: return shortest(t.data_as<double>()[i]);
    case DType::f16: return shortest(f16_to_f32(t.data_as<uint16_t>()[i]));
    case DType::bf16: return shortest(bf16_to_f32(t.data_as<uint16_t>()[i]));
    case DType::i64: return std::to_string(t.data_as<int64_t>()[i]);
    case DType::i32: return std::to_string(t.data_as<int32_t>()[i]);
    case DType::i8: return std::to_string(t.data_as<int8_t>()[i]);
    case DType::u8: return std::to_string(t.data_as<uint8_t>()[i]);
    case DType::boolean: return t.data_as<uint8_t>()[i] ? "true" : "false";
  }
  return "?";
}

// ---- printing ------------------------------------------------------------------------------------------

std::string type_text(DType dtype, const Shape& shape) {
  std::string s = std::string(dtype_name(dtype)) + "[";
  for (size_t i = 0; i < shape.size(); ++i) {
    if (i) s += ",";
    s += shape[i].known() ? std::to_string(shape[i].value) : symbol_text(shape[i].symbol);
  }
  return s + "]";
}

std::string payload_text(const Tensor& t, const TextOptions& o) {
  const int64_t n = t.numel();
  if (n > o.max_literal) {
    const size_t es = dtype_size(t.dtype());
    const auto* p = static_cast<const unsigned char*>(t.data());
    bool uniform = o.fill;
    for (int64_t i = 1; i < n && uniform; ++i) uniform = std::memcmp(p, p + i * es, es) == 0;
    if (uniform && o.fill) return "fill(" + element_text(t, 0) + ")";
    return "<" + std::to_string(n) + " values>";
  }
  std::string s = "[";
  for (int64_t i = 0; i < n; ++i) s += (i ? ", " : "") + element_text(t, i);
  return s + "]";
}

std::string attribute_text(const Attribute& a, const TextOptions& o) {
  switch (a.kind) {
    case Attribute::Kind::i: return std::to_string(a.i);
    case Attribute::Kind::f: return attr_float_text(a.f);
    case Attribute::Kind::s: return quoted(a.s);
    case Attribute::Kind::ints: {
      std::string s = "[";
      for (size_t i = 0; i < a.ints.size(); ++i) s += (i ? "," : "") + std::to_string(a.ints[i]);
      return s + "]";
    }
    case Attribute::Kind::floats: {
      if (a.floats.empty()) return "floats[]";
      std::string s = "[";
      for (size_t i = 0; i < a.floats.size(); ++i) s += (i ? "," : "") + attr_float_text(a.floats[i]);
      return s + "]";
    }
    case Attribute::Kind::tensor:
      if (!a.t) return "<no tensor>";
      return type_text(a.t->dtype(), shape_of(a.t->dims())) + " " + payload_text(*a.t, o);
  }
  return "?";
}

std::string typed(const Value& v) { return "%" + name_text(v.name) + ": " + type_text(v.dtype, v.shape); }

std::string default_node_name(const Graph& g, const Node& n) {
  return n.outputs.empty() ? n.op : g.values[n.outputs[0]].name;
}

}  // namespace

std::string to_text(const Graph& g, const TextOptions& o) {
  std::ostringstream os;
  os << "graph " << name_text(g.name) << "(";
  for (size_t i = 0; i < g.inputs.size(); ++i) os << (i ? ", " : "") << typed(g.values[g.inputs[i]]);
  os << ") {\n";
  // Constants first, in order of first use, so dumps do not depend on where folding created them.
  std::set<int> printed;
  auto print_const = [&](int v) {
    if (v >= 0 && g.values[v].is_constant() && printed.insert(v).second)
      os << "  const " << typed(g.values[v]) << " = " << payload_text(*g.values[v].constant, o) << "\n";
  };
  for (const Node& n : g.nodes)
    for (int in : n.inputs) print_const(in);
  for (int out : g.outputs) print_const(out);
  for (const Node& n : g.nodes) {
    os << " ";
    for (size_t i = 0; i < n.outputs.size(); ++i) os << (i ? ", " : " ") << typed(g.values[n.outputs[i]]);
    const bool bare_op = !n.op.empty() && scan_bare(n.op) == n.op.size() && n.op.find("::") == std::string::npos;
    os << " = " << (n.domain.empty() ? "" : name_text(n.domain) + "::") << (bare_op ? n.op : quoted(n.op));
    if (!n.attrs.all().empty()) {
      os << "<";
      bool first = true;
      for (const auto& [k, a] : n.attrs.all()) {
        os << (first ? "" : ", ") << name_text(k) << "=" << attribute_text(a, o);
        first = false;
      }
      os << ">";
    }
    os << "(";
    for (size_t i = 0; i < n.inputs.size(); ++i)
      os << (i ? ", " : "") << (n.inputs[i] < 0 ? std::string("_") : "%" + name_text(g.values[n.inputs[i]].name));
    os << ")";
    if (n.name != default_node_name(g, n)) os << " @" << name_text(n.name);
    os << "\n";
  }
  os << "  return";
  for (size_t i = 0; i < g.outputs.size(); ++i) os << (i ? ", %" : " %") << name_text(g.values[g.outputs[i]].name);
  os << "\n}\n";
  return os.str();
}

Tensor random_values(DType dtype, const Dims& dims, uint64_t seed) {
  Tensor t(dtype, dims);
  uint64_t s = seed * 6364136223846793005ull + 1442695040888963407ull;
  for (int64_t i = 0; i < t.numel(); ++i) {
    s = s * 6364136223846793005ull + 1442695040888963407ull;
    const float u = static_cast<float>(static_cast<double>(s >> 40) / static_cast<double>(1ull << 24) * 2.0 - 1.0);
    const auto k = static_cast<int64_t>(std::floor(8.0f * u));
    switch (dtype) {
      case DType::f32: t.data_as<float>()[i] = u; break;
      case DType::f64: t.data_as<double>()[i] = u; break;
      case DType::f16: t.data_as<uint16_t>()[i] = f32_to_f16(u); break;
      case DType::bf16: t.data_as<uint16_t>()[i] = f32_to_bf16(u); break;
      case DType::i64: t.data_as<int64_t>()[i] = k; break;
      case DType::i32: t.data_as<int32_t>()[i] = static_cast<int32_t>(k); break;
      case DType::i8: t.data_as<int8_t>()[i] = static_cast<int8_t>(k); break;
      case DType::u8: t.data_as<uint8_t>()[i] = static_cast<uint8_t>(k + 8); break;
      case DType::boolean: t.data_as<uint8_t>()[i] = u >= 0; break;
    }
  }
  return t;
}

// ---- reading -------------------------------------------------------------------------------------------

namespace {

// Constants a text may create, in all: enough for any test graph, bounded for fuzzed input.
constexpr int64_t kMaxConstantBytes = int64_t{256} << 20;

// A number token as written: its text, and whether it reads as an integer.
struct Number {
  std::string text;
  bool integral = false;
  size_t pos = 0;
};

class Reader {
 public:
  explicit Reader(std::string_view text) : s_(text) {}

  Graph read() {
    skip_space();
    expect_word("graph", "'graph' at the start of the text");
    g_.name = read_name("the graph's name");
    expect('(', "'(' after the graph's name");
    if (!accept(')')) {
      do {
        size_t at = 0, type_at = 0;
        Value v = read_declaration("a graph input", "graph input ", at, type_at);
        g_.inputs.push_back(define(std::move(v), at));
      } while (accept(','));
      expect(')', "',' or ')' after a graph input");
    }
    expect('{', "'{' after the graph's inputs");
    for (;;) {
      skip_space();
      if (word_ahead("return")) break;
      if (word_ahead("const")) {
        read_constant();
      } else if (peek() == '%' || peek() == '=') {
        read_node();
      } else {
        error("a statement ('const', '%name: type = Op(...)' or 'return')");
      }
    }
    expect_word("return", "'return'");
    skip_space();
    if (peek() == '%') {
      do {
        g_.outputs.push_back(read_use("a graph output"));
      } while (accept(','));
    }
    expect('}', "',' or '}' after the graph's outputs");
    skip_space();
    if (pos_ != s_.size()) error("the end of the text after the graph's '}'");
    return std::move(g_);
  }

 private:
  std::string_view s_;
  size_t pos_ = 0;
  Graph g_;
  std::map<std::string, std::pair<int, size_t>> defined_;  // name -> value, where it was defined
  int64_t constant_bytes_ = 0;

  // -- positions and errors --

  std::string where(size_t pos) const {
    size_t line = 1, col = 1;
    for (size_t i = 0; i < pos && i < s_.size(); ++i) {
      if (s_[i] == '\n') {
        ++line;
        col = 1;
      } else {
        ++col;
      }
    }
    return str("IR text line ", line, ", column ", col);
  }
  std::string found(size_t pos) const {
    if (pos >= s_.size()) return "the end of the text";
    size_t n = scan_bare(s_.substr(pos));
    if (n == 0) n = 1;
    return "'" + std::string(s_.substr(pos, std::min<size_t>(n, 40))) + "'";
  }
  [[noreturn]] void error(const std::string& expected) const { error_at(pos_, expected); }
  [[noreturn]] void error_at(size_t pos, const std::string& expected) const {
    fail(where(pos), ": expected ", expected, ", found ", found(pos));
  }
  [[noreturn]] void problem_at(size_t pos, const std::string& what) const { fail(where(pos), ": ", what); }
  static std::string ref(const std::string& name) { return "%" + name_text(name); }

  // -- characters and tokens --

  void skip_space() {
    while (pos_ < s_.size()) {
      const char c = s_[pos_];
      if (c == ' ' || c == '\t' || c == '\n' || c == '\r') {
        ++pos_;
      } else if (c == '#') {
        while (pos_ < s_.size() && s_[pos_] != '\n') ++pos_;
      } else {
        break;
      }
    }
  }
  char peek() const { return pos_ < s_.size() ? s_[pos_] : '\0'; }
  bool accept(char c) {
    skip_space();
    if (peek() != c) return false;
    ++pos_;
    return true;
  }
  void expect(char c, const std::string& expected) {
    if (!accept(c)) error(expected);
  }
  // `w` as a whole word at the current position (after whitespace).
  bool word_ahead(std::string_view w) {
    skip_space();
    return s_.substr(pos_, w.size()) == w && (pos_ + w.size() == s_.size() || !is_name_char(s_[pos_ + w.size()]));
  }
  void expect_word(std::string_view w, const std::string& expected) {
    if (!word_ahead(w)) error(expected);
    pos_ += w.size();
  }

  std::string read_string(const std::string& what) {
    skip_space();
    if (peek() != '"') error(what);
    const size_t start = pos_++;
    std::string out;
    for (;;) {
      if (pos_ >= s_.size() || s_[pos_] == '\n') problem_at(start, "a string is not closed on its line (expected '\"')");
      const char c = s_[pos_++];
      if (c == '"') return out;
      if (c != '\\') {
        out += c;
        continue;
      }
      const char e = peek();
      ++pos_;
      if (e == '"' || e == '\\') {
        out += e;
      } else if (e == 'n') {
        out += '\n';
      } else if (e == 't') {
        out += '\t';
      } else if (e == 'x' && pos_ + 2 <= s_.size() && std::isxdigit(static_cast<unsigned char>(s_[pos_])) &&
                 std::isxdigit(static_cast<unsigned char>(s_[pos_ + 1]))) {
        out += static_cast<char>(std::stoi(std::string(s_.substr(pos_, 2)), nullptr, 16));
        pos_ += 2;
      } else {
        error_at(pos_ - 2, "an escape \\\" \\\\ \\n \\t or \\xNN in a string");
      }
    }
  }

  // A bare or quoted name.
  std::string read_name(const std::string& what) {
    skip_space();
    if (peek() == '"') return read_string(what);
    const size_t n = scan_bare(s_.substr(pos_));
    if (n == 0) error(what);
    std::string out(s_.substr(pos_, n));
    pos_ += n;
    return out;
  }

  Number read_number(const std::string& what) {
    skip_space();
    Number num;
    num.pos = pos_;
    size_t i = pos_;
    if (i < s_.size() && s_[i] == '-') ++i;
    for (std::string_view w : {"inf", "nan"})
      if (s_.substr(i, 3) == w && (i + 3 >= s_.size() || !is_name_char(s_[i + 3]))) {
        num.text = std::string(s_.substr(pos_, i + 3 - pos_));
        pos_ = i + 3;
        return num;
      }
    size_t ndigits = 0;
    while (i < s_.size() && std::isdigit(static_cast<unsigned char>(s_[i]))) ++i, ++ndigits;
    bool integral = true;
    if (i < s_.size() && s_[i] == '.') {
      integral = false;
      ++i;
      while (i < s_.size() && std::isdigit(static_cast<unsigned char>(s_[i]))) ++i, ++ndigits;
    }
    if (ndigits == 0) error(what);
    if (i < s_.size() && (s_[i] == 'e' || s_[i] == 'E')) {
      integral = false;
      size_t j = i + 1;
      if (j < s_.size() && (s_[j] == '+' || s_[j] == '-')) ++j;
      const size_t exp_digits = j;
      while (j < s_.size() && std::isdigit(static_cast<unsigned char>(s_[j]))) ++j;
      if (j == exp_digits) error_at(j, "the digits of an exponent");
      i = j;
    }
    if (i < s_.size() && is_name_char(s_[i])) error_at(i, "a separator after the number");
    num.text = std::string(s_.substr(pos_, i - pos_));
    num.integral = integral;
    pos_ = i;
    return num;
  }

  int64_t to_int(const Number& n, const std::string& what) const {
    if (!n.integral) problem_at(n.pos, "expected " + what + ", found the non-integer '" + n.text + "'");
    int64_t v = 0;
    auto r = std::from_chars(n.text.data(), n.text.data() + n.text.size(), v);
    if (r.ec != std::errc() || r.ptr != n.text.data() + n.text.size())
      problem_at(n.pos, "the integer '" + n.text + "' is out of range for int64");
    return v;
  }
  template <typename T> T to_float(const Number& n, const char* type) const {
    T v = 0;
    const char* b = n.text.data();
    const char* e = b + n.text.size();
    // from_chars takes no sign on inf/nan the way strtod does; it does take '-'.
    auto r = std::from_chars(b, e, v);
    if (r.ec == std::errc::result_out_of_range) problem_at(n.pos, "'" + n.text + "' is out of range for " + type);
    if (r.ec != std::errc() || r.ptr != e) problem_at(n.pos, "'" + n.text + "' is not a number");
    return v;
  }

  int read_int_literal(const std::string& what) { return static_cast<int>(to_int(read_number(what), what)); }

  // -- types and values --

  DType read_dtype() {
    skip_space();
    const size_t at = pos_;
    const std::string name = read_name("a dtype (f32, f64, f16, bf16, i64, i32, i8, u8, bool)");
    for (DType t : {DType::f32, DType::f64, DType::f16, DType::bf16, DType::i64, DType::i32, DType::i8, DType::u8,
                    DType::boolean})
      if (name == dtype_name(t)) return t;
    error_at(at, "a dtype (f32, f64, f16, bf16, i64, i32, i8, u8, bool)");
  }

  void read_type(DType& dtype, Shape& shape) {
    dtype = read_dtype();
    expect('[', "'[' and the shape after the dtype");
    shape.clear();
    if (accept(']')) return;
    do {
      skip_space();
      const char c = peek();
      if (c == '?') {
        ++pos_;
        shape.push_back(Dim::sym(""));
      } else if (c >= '0' && c <= '9') {
        shape.push_back(Dim::of(to_int(read_number("a dim"), "a dim")));
      } else if (c == '"' || (scan_bare(s_.substr(pos_)) > 0 && c != '-' && c != '.')) {
        shape.push_back(Dim::sym(read_name("a dim")));
      } else {
        error("a dim (a number >= 0, a symbol or '?')");
      }
    } while (accept(','));
    expect(']', "',' or ']' in a shape");
  }

  // "%name: type", declaring a graph input, a node output or a constant (`what`, e.g. "a graph input";
  // `type_of` names it in the ':' error, e.g. "graph input "). `at` gets the name's offset, `type_at` the
  // type's (for payload errors).
  Value read_declaration(const std::string& what, const std::string& type_of, size_t& at, size_t& type_at) {
    expect('%', "'%' and the name of " + what);
    at = pos_;
    Value v;
    v.name = read_name("the name of " + what);
    expect(':', "':' and the type of " + type_of + ref(v.name));
    skip_space();
    type_at = pos_;
    read_type(v.dtype, v.shape);
    return v;
  }

  int define(Value v, size_t at) {
    auto it = defined_.find(v.name);
    if (it != defined_.end())
      problem_at(at, ref(v.name) + " is defined twice (first at " + where(it->second.second) + ")");
    const std::string name = v.name;
    const int id = g_.add_value(std::move(v));
    defined_[name] = {id, at};
    return id;
  }

  int read_use(const std::string& what) {
    expect('%', "'%' and the name of " + what);
    const size_t at = pos_;
    const std::string name = read_name("the name of " + what);
    auto it = defined_.find(name);
    if (it == defined_.end())
      problem_at(at, ref(name) + " is not defined (" + what + " must be an input, constant or node output defined above)");
    return it->second.first;
  }

  // -- payloads --

  void set_element(Tensor& t, int64_t i, const Number& n) {
    switch (t.dtype()) {
      case DType::f32: t.data_as<float>()[i] = to_float<float>(n, "f32"); return;
      case DType::f64: t.data_as<double>()[i] = to_float<double>(n, "f64"); return;
      case DType::f16: t.data_as<uint16_t>()[i] = f32_to_f16(to_float<float>(n, "f16")); return;
      case DType::bf16: t.data_as<uint16_t>()[i] = f32_to_bf16(to_float<float>(n, "bf16")); return;
      default: break;
    }
    const int64_t v = to_int(n, str("an integer for ", dtype_name(t.dtype())));
    auto in_range = [&](int64_t lo, int64_t hi) {
      if (v < lo || v > hi) problem_at(n.pos, str(v, " is out of range for ", dtype_name(t.dtype())));
    };
    switch (t.dtype()) {
      case DType::i64: t.data_as<int64_t>()[i] = v; return;
      case DType::i32: in_range(INT32_MIN, INT32_MAX); t.data_as<int32_t>()[i] = static_cast<int32_t>(v); return;
      case DType::i8: in_range(-128, 127); t.data_as<int8_t>()[i] = static_cast<int8_t>(v); return;
      case DType::u8: in_range(0, 255); t.data_as<uint8_t>()[i] = static_cast<uint8_t>(v); return;
      default: return;
    }
  }

  // One element; bool takes true / false.
  void read_element(Tensor& t, int64_t i) {
    skip_space();
    if (t.dtype() == DType::boolean) {
      if (word_ahead("true") || word_ahead("false")) {
        const bool v = s_[pos_] == 't';
        pos_ += v ? 4 : 5;
        t.data_as<uint8_t>()[i] = v;
        return;
      }
      error("true or false");
    }
    set_element(t, i, read_number(str("a number (an element of ", dtype_name(t.dtype()), ")")));
  }

  Tensor read_payload(DType dtype, const Shape& shape, size_t type_at) {
    Dims dims;
    int64_t numel = 1;
    for (const Dim& d : shape) {
      if (!d.known()) problem_at(type_at, "a constant needs a static shape, found " + type_text(dtype, shape));
      if (d.value > kMaxConstantBytes)
        problem_at(type_at, str("a constant's dims are at most ", kMaxConstantBytes, ", found ", type_text(dtype, shape)));
      if (d.value != 0 && numel > kMaxConstantBytes / d.value) numel = kMaxConstantBytes + 1;
      else numel *= d.value;
      dims.push_back(d.value);
    }
    if (numel > kMaxConstantBytes / static_cast<int64_t>(dtype_size(dtype)) ||
        constant_bytes_ + numel * static_cast<int64_t>(dtype_size(dtype)) > kMaxConstantBytes)
      problem_at(type_at, str("constants in IR text may hold ", kMaxConstantBytes >> 20, " MiB in all; ",
                              type_text(dtype, shape), " would exceed that"));
    constant_bytes_ += numel * static_cast<int64_t>(dtype_size(dtype));
    skip_space();
    const size_t at = pos_;
    if (word_ahead("random")) {
      pos_ += 6;
      expect('(', "'(' and a seed after 'random'");
      const Number n = read_number("an integer seed");
      const int64_t seed = to_int(n, "an integer seed");
      expect(')', "')' after the seed");
      return random_values(dtype, dims, static_cast<uint64_t>(seed));
    }
    Tensor t(dtype, dims);
    if (word_ahead("fill")) {
      pos_ += 4;
      expect('(', "'(' and a value after 'fill'");
      if (numel == 0) {
        Tensor one(dtype, {1});
        read_element(one, 0);
      } else {
        read_element(t, 0);
        const size_t es = dtype_size(dtype);
        auto* p = static_cast<unsigned char*>(t.data());
        for (int64_t i = 1; i < numel; ++i) std::memcpy(p + i * es, p, es);
      }
      expect(')', "')' after the fill value");
      return t;
    }
    if (peek() == '<') problem_at(at, "a summarised constant ('<N values>') has no values to read; state them as [...], fill(v) or random(seed)");
    expect('[', "the values of a constant: [...], fill(v) or random(seed)");
    int64_t count = 0;
    if (!accept(']')) {
      do {
        skip_space();
        if (count == numel)
          problem_at(pos_, str(type_text(dtype, shape), " holds ", numel, " value(s); found more"));
        read_element(t, count++);
      } while (accept(','));
      expect(']', "',' or ']' in a list of values");
    }
    if (count != numel)
      problem_at(at, str(type_text(dtype, shape), " holds ", numel, " value(s), found ", count));
    return t;
  }

  // -- statements --

  void read_constant() {
    pos_ += 5;  // const
    size_t at = 0, type_at = 0;
    Value v = read_declaration("a constant", "constant ", at, type_at);
    expect('=', "'=' and the values of constant " + ref(v.name));
    v.constant = std::make_shared<const Tensor>(read_payload(v.dtype, v.shape, type_at));
    define(std::move(v), at);
  }

  Attribute read_attribute(const std::string& name) {
    skip_space();
    const char c = peek();
    Attribute a;
    if (c == '"') {
      a.kind = Attribute::Kind::s;
      a.s = read_string("a string");
    } else if (c == '-' || (c >= '0' && c <= '9') || word_ahead("inf") || word_ahead("nan")) {
      const Number n = read_number("a number");
      if (n.integral) {
        a.kind = Attribute::Kind::i;
        a.i = to_int(n, "an integer");
      } else {
        a.kind = Attribute::Kind::f;
        a.f = to_float<double>(n, "a float attribute");
      }
    } else if (c == '[') {
      ++pos_;
      std::vector<Number> items;
      if (!accept(']')) {
        do {
          items.push_back(read_number("a number in a list"));
        } while (accept(','));
        expect(']', "',' or ']' in a list");
      }
      bool all_int = true;
      for (const Number& n : items) all_int = all_int && n.integral;
      a.kind = all_int ? Attribute::Kind::ints : Attribute::Kind::floats;
      for (const Number& n : items) {
        if (all_int) a.ints.push_back(to_int(n, "an integer"));
        else a.floats.push_back(to_float<double>(n, "a float attribute"));
      }
    } else if (word_ahead("floats")) {
      pos_ += 6;
      expect('[', "'[' after 'floats'");
      expect(']', "']': 'floats[]' is the empty list of floats");
      a.kind = Attribute::Kind::floats;
    } else if (scan_bare(s_.substr(pos_)) > 0) {
      const size_t type_at = pos_;
      DType dtype;
      Shape shape;
      read_type(dtype, shape);
      a.kind = Attribute::Kind::tensor;
      a.t = std::make_shared<const Tensor>(read_payload(dtype, shape, type_at));
    } else {
      error("the value of attribute '" + name + "' (a number, string, list or tensor)");
    }
    return a;
  }

  void read_node() {
    std::vector<std::pair<Value, size_t>> outs;
    if (peek() == '%') {
      do {
        size_t at = 0, type_at = 0;
        Value v = read_declaration("a node output", "", at, type_at);
        outs.emplace_back(std::move(v), at);
      } while (accept(','));
    }
    expect('=', "',' or '=' and the node after its outputs");
    Node n;
    skip_space();
    // A bare "domain::Op" scans as one name: the op follows the last "::" (the printer quotes an op
    // name that holds "::").
    const bool bare = peek() != '"';
    n.op = read_name("an op name");
    skip_space();
    if (const size_t cut = n.op.rfind("::"); bare && cut != std::string::npos) {
      n.domain = n.op.substr(0, cut);
      n.op = n.op.substr(cut + 2);
    } else if (s_.substr(pos_, 2) == "::") {
      pos_ += 2;
      n.domain = std::move(n.op);
      n.op = read_name("an op name after the domain");
    }
    if (accept('<')) {
      do {
        skip_space();
        const size_t at = pos_;
        const std::string key = read_name("an attribute name");
        if (n.attrs.has(key)) problem_at(at, "attribute '" + key + "' is given twice");
        expect('=', "'=' after attribute name '" + key + "'");
        n.attrs.set(key, read_attribute(key));
      } while (accept(','));
      expect('>', "',' or '>' after an attribute");
    }
    expect('(', "'(' and the inputs of " + (outs.empty() ? n.op : ref(outs[0].first.name)));
    skip_space();
    if (!accept(')')) {
      do {
        if (word_ahead("_")) {
          ++pos_;
          n.inputs.push_back(-1);
        } else {
          n.inputs.push_back(read_use("an input of " + (outs.empty() ? n.op : ref(outs[0].first.name))));
        }
      } while (accept(','));
      expect(')', "',' or ')' after an input");
    }
    // Outputs are defined after the inputs are read: a node cannot read its own output.
    for (auto& [v, at] : outs) n.outputs.push_back(define(std::move(v), at));
    n.name = n.outputs.empty() ? n.op : g_.values[n.outputs[0]].name;
    if (accept('@')) n.name = read_name("a node name after '@'");
    g_.add_node(std::move(n));
  }
};

}  // namespace

Graph parse_graph(std::string_view text) { return Reader(text).read(); }

}  // namespace kiln::ir
