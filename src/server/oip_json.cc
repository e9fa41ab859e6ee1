#include "server/oip_json.h"

#include <charconv>
#include <cmath>
#include <cstdint>
#include <limits>
#include <algorithm>
#include <set>

#include "kiln/error.h"
#include "server/http_types.h"

namespace kiln::server {
namespace {

using json = nlohmann::json;

[[noreturn]] void bad(const std::string& message) { throw HttpError(400, message); }

const char* json_type(const json& j) { return j.type_name(); }

// The leaves of a (possibly nested) data array, in row-major order; nesting deeper than `max_depth` is
// refused (no input has that many axes).
std::vector<const json*> leaves(const json& data, size_t max_depth, const std::string& where) {
  std::vector<const json*> out;
  if (!data.is_array()) bad(where + ": 'data' must be an array, got " + json_type(data));
  struct Frame {
    const json* array;
    size_t next;
  };
  std::vector<Frame> stack{{&data, 0}};
  while (!stack.empty()) {
    Frame& f = stack.back();
    if (f.next == f.array->size()) {
      stack.pop_back();
      continue;
    }
    const json& e = (*f.array)[f.next++];
    if (e.is_array()) {
      if (stack.size() >= max_depth) bad(where + ": 'data' is nested deeper than the shape has axes");
      stack.push_back({&e, 0});
    } else {
      out.push_back(&e);
    }
  }
  return out;
}

Dims read_shape(const json& in, const DecodeLimits& limits, const std::string& where, int64_t& count) {
  if (!in.contains("shape") || !in["shape"].is_array()) bad(where + ": 'shape' must be an array of sizes");
  std::vector<int64_t> shape;
  for (const json& d : in["shape"]) {
    if (!d.is_number_integer() || (d.is_number_unsigned() && d.get<uint64_t>() > (uint64_t{1} << 40)))
      bad(where + ": shape entries must be non-negative integers, got " + d.dump());
    shape.push_back(d.get<int64_t>());
  }
  return checked_shape(shape, limits, where, count);
}

int64_t integer_leaf(const json& v, int64_t lo, int64_t hi, const std::string& where, size_t i) {
  if (v.is_number_unsigned()) {
    const uint64_t u = v.get<uint64_t>();
    if (u > static_cast<uint64_t>(hi)) bad(where + ": element " + std::to_string(i) + " (" + v.dump() + ") is out of range");
    return static_cast<int64_t>(u);
  }
  if (!v.is_number_integer())
    bad(where + ": element " + std::to_string(i) + " is " + (v.is_number() ? "not an integer (" + v.dump() + ")" : std::string("a ") + json_type(v)) + ", expected an integer");
  const int64_t x = v.get<int64_t>();
  if (x < lo || x > hi) bad(where + ": element " + std::to_string(i) + " (" + v.dump() + ") is out of range");
  return x;
}

const char* expected_datatypes(DType t) {
  switch (t) {
    case DType::i64:
    case DType::i32: return "INT64 or INT32";
    case DType::f32: return "FP32";
    default: return nullptr;
  }
}

Tensor decode_numeric(const json& in, const TensorInfo& spec, const std::string& datatype, const DecodeLimits& limits,
                      const std::string& where) {
  check_datatype(&spec, datatype, where);
  int64_t count = 0;
  Dims dims = read_shape(in, limits, where, count);
  if (!in.contains("data")) bad(where + ": 'data' is missing");
  const std::vector<const json*> vals = leaves(in["data"], std::max<size_t>(dims.size(), 1), where);
  if (static_cast<int64_t>(vals.size()) != count)
    bad(where + ": shape " + in["shape"].dump() + " needs " + std::to_string(count) + " elements, 'data' has " + std::to_string(vals.size()));
  Tensor t(spec.dtype, dims);
  // The request's own datatype bounds the values too: INT32 data must fit in 32 bits even for an INT64 input.
  const bool narrow = datatype == "INT32" || spec.dtype == DType::i32;
  const int64_t lo = narrow ? std::numeric_limits<int32_t>::min() : std::numeric_limits<int64_t>::min();
  const int64_t hi = narrow ? std::numeric_limits<int32_t>::max() : std::numeric_limits<int64_t>::max();
  for (size_t i = 0; i < vals.size(); ++i) {
    const json& v = *vals[i];
    if (spec.dtype == DType::i64) {
      t.data_as<int64_t>()[i] = integer_leaf(v, lo, hi, where, i);
    } else if (spec.dtype == DType::i32) {
      t.data_as<int32_t>()[i] = static_cast<int32_t>(integer_leaf(v, lo, hi, where, i));
    } else {
      if (!v.is_number()) bad(where + ": element " + std::to_string(i) + " is a " + json_type(v) + ", expected a number");
      const double d = v.get<double>();
      if (!(std::fabs(d) <= std::numeric_limits<float>::max())) bad(where + ": element " + std::to_string(i) + " (" + v.dump() + ") is out of FP32 range");
      t.data_as<float>()[i] = static_cast<float>(d);
    }
  }
  return t;
}

std::vector<std::string> decode_bytes(const json& in, const std::string& datatype, const DecodeLimits& limits,
                                      const std::string& where) {
  check_datatype(nullptr, datatype, where);
  int64_t count = 0;
  Dims dims = read_shape(in, limits, where, count);
  if (dims.size() != 1) bad(where + ": a text input must have shape [N], got " + in["shape"].dump());
  if (!in.contains("data")) bad(where + ": 'data' is missing");
  const std::vector<const json*> vals = leaves(in["data"], 1, where);
  if (static_cast<int64_t>(vals.size()) != count)
    bad(where + ": shape " + in["shape"].dump() + " needs " + std::to_string(count) + " elements, 'data' has " + std::to_string(vals.size()));
  std::vector<std::string> out;
  for (size_t i = 0; i < vals.size(); ++i) {
    if (!vals[i]->is_string()) bad(where + ": element " + std::to_string(i) + " is a " + json_type(*vals[i]) + ", expected a string");
    out.push_back(vals[i]->get<std::string>());
  }
  return out;
}

std::string names_of(const std::vector<TensorInfo>& specs) {
  std::string s;
  for (const TensorInfo& t : specs) s += (s.empty() ? "" : ", ") + t.name;
  return s;
}

void append_number(std::string& out, float v) {
  if (!std::isfinite(v)) {  // JSON has no NaN or infinity: null, as most JSON encoders write them
    out += "null";
    return;
  }
  char buf[32];
  auto r = std::to_chars(buf, buf + sizeof buf, v);
  out.append(buf, r.ptr);
}

}  // namespace

const TensorInfo* input_spec(const ModelInfo& info, const std::string& name) {
  for (const TensorInfo& t : info.inputs)
    if (t.name == name) return &t;
  if ((name == "text" || name == "text_pair") && info.has_tokenizer) return nullptr;
  bad("unknown input '" + name + "'; the model's inputs are " + names_of(info.inputs) +
      (info.has_tokenizer ? " (or text, text_pair: BYTES [N])" : ""));
}

void check_datatype(const TensorInfo* spec, const std::string& datatype, const std::string& where) {
  if (!spec) {
    if (datatype != "BYTES") bad(where + ": datatype " + datatype + " does not match the text input (BYTES)");
    return;
  }
  const char* want = expected_datatypes(spec->dtype);
  if (!want) bad(where + ": the model input is " + dtype_name(spec->dtype) + ", which this server does not accept");
  const bool integer = spec->dtype == DType::i64 || spec->dtype == DType::i32;
  if ((integer && datatype != "INT64" && datatype != "INT32") || (!integer && datatype != "FP32"))
    bad(where + ": datatype " + datatype + " does not match the model input (" + want + ")");
}

Dims checked_shape(const std::vector<int64_t>& shape, const DecodeLimits& limits, const std::string& where, int64_t& count) {
  auto text = [&] {
    std::string s = "[";
    for (size_t i = 0; i < shape.size(); ++i) s += (i ? "," : "") + std::to_string(shape[i]);
    return s + "]";
  };
  if (shape.size() > limits.max_rank)
    bad(where + ": shape has " + std::to_string(shape.size()) + " axes, at most " + std::to_string(limits.max_rank) + " are accepted");
  count = 1;
  for (int64_t v : shape) {
    if (v < 0) bad(where + ": shape entries must be non-negative integers, got " + text());
    if (v != 0 && count > limits.max_elements / v) bad(where + ": shape " + text() + " has more than " + std::to_string(limits.max_elements) + " elements");
    count *= v;
  }
  if (count > limits.max_elements) bad(where + ": shape " + text() + " has more than " + std::to_string(limits.max_elements) + " elements");
  return shape;
}

void check_request_inputs(const ModelInfo& info, const InferRequest& r, const std::vector<std::string>& names) {
  const bool has_pairs = !r.text_pairs.empty() || std::find(names.begin(), names.end(), "text_pair") != names.end();
  if (has_pairs && !r.text) bad("input 'text_pair' needs input 'text'");
  if (r.text) {
    if (!r.inputs.empty()) bad("send either the text inputs or the model's tensors, not both (got '" + r.inputs[0].name + "' with 'text')");
    if (has_pairs && r.text_pairs.size() != r.texts.size())
      bad("'text' has " + std::to_string(r.texts.size()) + " elements but 'text_pair' has " + std::to_string(r.text_pairs.size()));
    return;
  }
  for (const TensorInfo& t : info.inputs)
    if (std::find(names.begin(), names.end(), t.name) == names.end())
      bad("missing input '" + t.name + "'; the model's inputs are " + names_of(info.inputs));
}

void check_output_name(const ModelInfo& info, bool text, const std::string& name) {
  for (const TensorInfo& t : info.outputs)
    if (t.name == name) return;
  const bool classifier = info.task == Task::classification || info.task == Task::pair_classification;
  if (text && classifier && (name == "label" || name == "score")) return;
  bad("unknown output '" + name + "'; the model's outputs are " + names_of(info.outputs) +
      (classifier && info.has_tokenizer ? " (and label, score for text requests)" : ""));
}

nlohmann::json parse_json_body(std::string_view body) {
  try {
    return json::parse(body.begin(), body.end());
  } catch (const json::exception& e) {
    // parse_error ("[json.exception.parse_error.101] parse error at line 1, column 5: ..."), and
    // out_of_range for a number no double holds ("number overflow parsing '5E45557'").
    std::string what = e.what();
    const size_t p = what.find("] ");
    throw HttpError(400, "invalid JSON body: " + (p == std::string::npos ? what : what.substr(p + 2)));
  }
}

InferRequest decode_infer_request(std::string_view body, const ModelInfo& info, const DecodeLimits& limits) {
  const json j = parse_json_body(body);
  if (!j.is_object()) bad(std::string("the body must be a JSON object (an inference request), got ") + json_type(j));
  InferRequest r;
  if (j.contains("id")) {
    if (!j["id"].is_string()) bad(std::string("'id' must be a string, got ") + json_type(j["id"]));
    r.id = j["id"].get<std::string>();
    r.has_id = true;
  }
  if (j.contains("parameters")) {
    if (!j["parameters"].is_object()) bad("'parameters' must be an object");
    r.parameters = j["parameters"];
  }
  if (!j.contains("inputs") || !j["inputs"].is_array() || j["inputs"].empty())
    bad("'inputs' must be a non-empty array of tensors");
  std::set<std::string> seen;
  std::vector<std::string> names;
  for (const json& in : j["inputs"]) {
    if (!in.is_object() || !in.contains("name") || !in["name"].is_string())
      bad("every input must be an object with a string 'name'");
    const std::string name = in["name"].get<std::string>();
    const std::string where = "input '" + name + "'";
    if (!seen.insert(name).second) bad(where + " is given twice");
    names.push_back(name);
    if (!in.contains("datatype") || !in["datatype"].is_string()) bad(where + ": 'datatype' must be a string");
    const std::string datatype = in["datatype"].get<std::string>();
    const TensorInfo* spec = input_spec(info, name);
    if (!spec) {
      std::vector<std::string> v = decode_bytes(in, datatype, limits, where);
      if (name == "text") r.texts = std::move(v), r.text = true;
      else r.text_pairs = std::move(v);
      continue;
    }
    r.inputs.push_back({name, decode_numeric(in, *spec, datatype, limits, where)});
  }
  check_request_inputs(info, r, names);
  if (j.contains("outputs")) {
    if (!j["outputs"].is_array()) bad("'outputs' must be an array of {\"name\": ...}");
    for (const json& o : j["outputs"]) {
      if (!o.is_object() || !o.contains("name") || !o["name"].is_string()) bad("every requested output must be an object with a string 'name'");
      const std::string name = o["name"].get<std::string>();
      check_output_name(info, r.text, name);
      r.outputs.push_back(name);
    }
  }
  return r;
}

const char* oip_datatype(DType t) {
  switch (t) {
    case DType::f32: return "FP32";
    case DType::f64: return "FP64";
    case DType::f16: return "FP16";
    case DType::bf16: return "BF16";
    case DType::i64: return "INT64";
    case DType::i32: return "INT32";
    case DType::i8: return "INT8";
    case DType::u8: return "UINT8";
    case DType::boolean: return "BOOL";
  }
  return "BYTES";
}

void append_json_string(std::string& out, std::string_view s) {
  out += '"';
  for (unsigned char c : s) {
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      default:
        if (c < 0x20) {
          char buf[8];
          std::snprintf(buf, sizeof buf, "\\u%04x", c);
          out += buf;
        } else {
          out += static_cast<char>(c);
        }
    }
  }
  out += '"';
}

namespace {
void append_header(std::string& out, const std::string& name, const char* datatype, const Dims& dims) {
  out += "{\"name\":";
  append_json_string(out, name);
  out += ",\"datatype\":\"";
  out += datatype;
  out += "\",\"shape\":[";
  for (size_t i = 0; i < dims.size(); ++i) out += (i ? "," : "") + std::to_string(dims[i]);
  out += "],\"data\":[";
}
}  // namespace

void append_tensor_json(std::string& out, const std::string& name, const Tensor& t) {
  append_header(out, name, oip_datatype(t.dtype()), t.dims());
  const int64_t n = t.numel();
  for (int64_t i = 0; i < n; ++i) {
    if (i) out += ',';
    switch (t.dtype()) {
      case DType::f32: append_number(out, t.data_as<float>()[i]); break;
      case DType::i64: out += std::to_string(t.data_as<int64_t>()[i]); break;
      case DType::i32: out += std::to_string(t.data_as<int32_t>()[i]); break;
      case DType::boolean: out += t.data_as<bool>()[i] ? "true" : "false"; break;
      default: fail_internal("output '", name, "' has dtype ", dtype_name(t.dtype()), ", which the server cannot encode");
    }
  }
  out += "]}";
}

void append_bytes_json(std::string& out, const std::string& name, const std::vector<std::string>& values) {
  append_header(out, name, "BYTES", {static_cast<int64_t>(values.size())});
  for (size_t i = 0; i < values.size(); ++i) {
    if (i) out += ',';
    append_json_string(out, values[i]);
  }
  out += "]}";
}

void append_fp32_json(std::string& out, const std::string& name, const std::vector<double>& values) {
  append_header(out, name, "FP32", {static_cast<int64_t>(values.size())});
  for (size_t i = 0; i < values.size(); ++i) {
    if (i) out += ',';
    append_number(out, static_cast<float>(values[i]));
  }
  out += "]}";
}

}  // namespace kiln::server
