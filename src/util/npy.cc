// Format: "\x93NUMPY", major, minor, header length (u16 for 1.0, u32 for 2.0/3.0), then a Python dict
// literal {'descr': '<f4', 'fortran_order': False, 'shape': (3, 37), } padded to 64 bytes, then data.
#include "kiln/npy.h"

#include <cctype>
#include <cstring>

#include "kiln/error.h"
#include "util/file.h"
#include "util/untrusted.h"

namespace kiln {
namespace {

struct DescrMap {
  const char* descr;
  DType dtype;
};
constexpr DescrMap kDescrs[] = {{"<f4", DType::f32}, {"<f8", DType::f64}, {"<i8", DType::i64}, {"<i4", DType::i32},
                                {"|i1", DType::i8},  {"|u1", DType::u8},  {"|b1", DType::boolean}};

// Finds `'key':` in the header dict and returns the text of its value (up to the next top-level comma).
std::string dict_value(const std::string& h, const std::string& key, const std::string& path) {
  size_t k = h.find("'" + key + "'");
  if (k == std::string::npos) fail("npy file '", path, "' has a corrupt header: no '", key, "' entry");
  size_t colon = h.find(':', k);
  if (colon == std::string::npos) fail("npy file '", path, "' has a corrupt header near '", key, "'");
  size_t i = colon + 1;
  while (i < h.size() && std::isspace(static_cast<unsigned char>(h[i]))) ++i;
  size_t end = i;
  int depth = 0;
  while (end < h.size()) {
    char ch = h[end];
    if (ch == '(') ++depth;
    if (ch == ')') --depth;
    if ((ch == ',' && depth == 0) || ch == '}') break;
    ++end;
  }
  return h.substr(i, end - i);
}

}  // namespace

Tensor parse_npy(const std::string& bytes, const std::string& path) {
  if (bytes.size() < 10 || std::memcmp(bytes.data(), "\x93NUMPY", 6) != 0)
    fail("'", path, "' is not a .npy file (bad magic at offset 0)");
  const uint8_t major = static_cast<uint8_t>(bytes[6]);
  size_t header_len, header_start;
  if (major == 1) {
    header_len = static_cast<uint8_t>(bytes[8]) | (static_cast<uint8_t>(bytes[9]) << 8);
    header_start = 10;
  } else if (major == 2 || major == 3) {
    if (bytes.size() < 12) fail("npy file '", path, "' is truncated in its header");
    header_len = 0;
    for (int i = 0; i < 4; ++i) header_len |= static_cast<size_t>(static_cast<uint8_t>(bytes[8 + i])) << (8 * i);
    header_start = 12;
  } else {
    fail("npy file '", path, "' has unsupported format version ", int(major));
  }
  if (header_start + header_len > bytes.size())
    fail("npy file '", path, "' is truncated: header of ", header_len, " bytes runs past the end of the file");
  const std::string h = bytes.substr(header_start, header_len);
  if (h.find('{') == std::string::npos || h.find('}') == std::string::npos)
    fail("npy file '", path, "' has a corrupt header (no dict at offset ", header_start, ")");

  std::string descr = dict_value(h, "descr", path);
  if (descr.size() < 2 || (descr.front() != '\'' && descr.front() != '"'))
    fail("npy file '", path, "' has a corrupt header: bad descr ", descr);
  descr = descr.substr(1, descr.size() - 2);
  if (descr == "=f4") descr = "<f4";
  if (descr == "=i8") descr = "<i8";
  if (descr == "=i4") descr = "<i4";
  if (descr == "<i1" || descr == "=i1") descr = "|i1";
  if (descr == "<u1" || descr == "=u1") descr = "|u1";
  const DType* dtype = nullptr;
  for (const DescrMap& d : kDescrs)
    if (descr == d.descr) dtype = &d.dtype;
  if (!dtype)
    fail("npy file '", path, "' has dtype '", descr, "'; supported: <f4 (float32), <i8 (int64), <i4 (int32), <f8, |i1, |u1, |b1");

  std::string fortran = dict_value(h, "fortran_order", path);
  if (fortran.rfind("True", 0) == 0)
    fail("npy file '", path, "' is in Fortran order; save it C-contiguous (numpy.ascontiguousarray)");
  if (fortran.rfind("False", 0) != 0) fail("npy file '", path, "' has a corrupt header: fortran_order is '", fortran, "'");

  std::string shape_text = dict_value(h, "shape", path);
  if (shape_text.empty() || shape_text.front() != '(' || shape_text.back() != ')')
    fail("npy file '", path, "' has a corrupt header: shape is '", shape_text, "'");
  Dims dims;
  std::string num;
  for (size_t i = 1; i < shape_text.size(); ++i) {
    char ch = shape_text[i];
    if (std::isdigit(static_cast<unsigned char>(ch))) {
      num += ch;
    } else if (ch == ',' || ch == ')') {
      if (!num.empty()) {
        if (num.size() > 15) fail("npy file '", path, "' has an absurd dim ", num);
        dims.push_back(parse_count(num, "npy file '" + path + "' dim"));
        num.clear();
      }
    } else if (!std::isspace(static_cast<unsigned char>(ch)) && ch != 'L') {
      fail("npy file '", path, "' has a corrupt header: shape is '", shape_text, "'");
    }
  }
  // Check the data size before allocating, so an absurd header cannot exhaust memory (checked
  // multiplication: a shape whose size overflows is refused, whatever its zero dims).
  const size_t data_start = header_start + header_len;
  const uint64_t want = checked_nbytes(*dtype, dims, "npy file '" + path + "' shape");
  const size_t have = bytes.size() - data_start;
  if (want != have)
    fail("npy file '", path, "' holds ", have, " data bytes, but its header says ", descr, " ", dims_to_string(dims),
         " (", want, " bytes): truncated or corrupt");
  Tensor t = Tensor::uninitialized(*dtype, dims);
  if (want) std::memcpy(t.data(), bytes.data() + data_start, want);
  if (*dtype == DType::boolean)
    for (int64_t i = 0; i < t.numel(); ++i) t.data_as<uint8_t>()[i] = t.data_as<uint8_t>()[i] != 0;
  return t;
}

Tensor read_npy(const std::string& path) { return parse_npy(read_file(path, "npy file"), path); }

std::string serialize_npy(const Tensor& t) {
  const char* descr = nullptr;
  for (const DescrMap& d : kDescrs)
    if (d.dtype == t.dtype()) descr = d.descr;
  if (!descr) fail("cannot write a ", dtype_name(t.dtype()), " tensor as .npy");
  // Separate with ", " as numpy does.
  std::string pretty = "(";
  for (size_t i = 0; i < t.dims().size(); ++i) {
    pretty += std::to_string(t.dims()[i]);
    if (t.dims().size() == 1) pretty += ",";
    else if (i + 1 < t.dims().size()) pretty += ", ";
  }
  pretty += ")";
  std::string header = std::string("{'descr': '") + descr + "', 'fortran_order': False, 'shape': " + pretty + ", }";
  size_t total = 10 + header.size() + 1;
  header.append((64 - total % 64) % 64, ' ');
  header += '\n';
  std::string out = "\x93NUMPY";
  out += '\x01';
  out += '\x00';
  out += static_cast<char>(header.size() & 0xff);
  out += static_cast<char>(header.size() >> 8);
  out += header;
  out.append(static_cast<const char*>(t.data()), t.nbytes());
  return out;
}

void write_npy(const std::string& path, const Tensor& t) { write_file_atomic(path, serialize_npy(t), "output file"); }

}  // namespace kiln
