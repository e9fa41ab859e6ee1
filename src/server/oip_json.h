// The Open Inference Protocol's JSON bodies (KServe v2 REST): decoding an inference request into model
// inputs, and encoding tensors, metadata and answers. Pure functions of bytes and a ModelInfo, so the
// fuzz target (tests/fuzz/fuzz_http_request.cc) runs them without a server.
//
// Decoding is strict, since a wrong answer is worse than an error: every input must name a model input
// (or be the text inputs `text` / `text_pair` for a model with a tokenizer), carry a datatype the input
// takes (INT64 and INT32 for integer inputs, converted exactly; FP32 for float inputs), a shape whose
// element count equals the data's (flat or nested, row-major), and values of that type (integers in
// range; no fractions for INT*). Failures throw HttpError(400) naming the input and the problem.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "kiln/model.h"
#include "kiln/tensor.h"

namespace kiln::server {

struct InferRequest {
  std::string id;            // echoed in the answer when given
  bool has_id = false;
  nlohmann::json parameters;  // the request's parameters object (null when absent)
  std::vector<NamedTensor> inputs;  // numeric inputs, converted to the model's dtypes
  bool text = false;                // the request sent `text` (BYTES [N]) instead of token tensors
  std::vector<std::string> texts, text_pairs;
  std::vector<std::string> outputs;  // requested output names; empty: all
};

// Limits on one request's tensors (the body limit bounds the bytes; these bound what is made of them).
struct DecodeLimits {
  int64_t max_elements = 1 << 24;  // per tensor
  size_t max_rank = 8;
};

// Parses and checks `body` against the model's inputs. Throws HttpError(400).
InferRequest decode_infer_request(std::string_view body, const ModelInfo& info, const DecodeLimits& limits = {});

// The checks every protocol's decoder shares (the gRPC one too), each throwing HttpError(400) with the
// same message: the model input `name` (or nullptr for the text inputs of a model with a tokenizer;
// "unknown input" otherwise); the datatype it takes; a shape within the limits, with its element count;
// and, once all inputs are read, that none is missing and text and tensors are not mixed.
const TensorInfo* input_spec(const ModelInfo& info, const std::string& name);
void check_datatype(const TensorInfo* spec, const std::string& datatype, const std::string& where);
Dims checked_shape(const std::vector<int64_t>& shape, const DecodeLimits& limits, const std::string& where, int64_t& count);
void check_request_inputs(const ModelInfo& info, const InferRequest& r, const std::vector<std::string>& names);
// A requested output: the model's, or label / score for text sent to a classifier.
void check_output_name(const ModelInfo& info, bool text, const std::string& name);

// Parses any JSON body for the other routes: HttpError(400) "invalid JSON ..." with the byte offset.
nlohmann::json parse_json_body(std::string_view body);

// The OIP datatype of a Kiln dtype ("FP32", "INT64", ...).
const char* oip_datatype(DType t);

// {"name": ..., "datatype": ..., "shape": [...], "data": [...]}: flat row-major data. Floats are written
// in their shortest round-trip form.
void append_tensor_json(std::string& out, const std::string& name, const Tensor& t);
// A BYTES tensor of strings, shape [N].
void append_bytes_json(std::string& out, const std::string& name, const std::vector<std::string>& values);
// An FP32 tensor [N] from doubles (narrowed to float).
void append_fp32_json(std::string& out, const std::string& name, const std::vector<double>& values);

// Appends `s` as a JSON string literal (quotes and escapes; `s` must be valid UTF-8).
void append_json_string(std::string& out, std::string_view s);

}  // namespace kiln::server
