// The server's request bodies (src/server/oip_json.cc, tei_json.cc): any bytes as an Open Inference
// Protocol inference request for a token model and for a text model, and as every TEI route's body.
// A clean refusal is an HttpError (a 4xx answer) or kiln::Error; anything else escapes and is a crash.
// The HTTP framing itself (request line, headers, chunked bodies) is cpp-httplib's, and its limits
// (body size, read timeout) are tested against the running server (tests/server/).
#include <string>

#include "fuzz_common.h"
#include "kiln/model.h"
#include "server/http_types.h"
#include "server/oip_json.h"
#include "server/tei_json.h"

namespace {

kiln::ModelInfo token_model(bool tokenizer) {
  kiln::ModelInfo info;
  for (const char* name : {"input_ids", "attention_mask"}) {
    kiln::TensorInfo t;
    t.name = name;
    t.dtype = kiln::DType::i64;
    t.compiled = {4, 16};
    t.request = {-1, -1};
    info.inputs.push_back(t);
  }
  kiln::TensorInfo f;
  f.name = "scale";
  f.dtype = kiln::DType::f32;
  f.compiled = {1};
  f.request = {1};
  info.inputs.push_back(f);
  kiln::TensorInfo out;
  out.name = "logits";
  out.compiled = {4, 2};
  out.request = {-1, 2};
  info.outputs.push_back(out);
  info.task = kiln::Task::classification;
  info.has_tokenizer = tokenizer;
  info.any_rows = true;
  return info;
}

void parse(std::string_view input) {
  using namespace kiln::server;
  static const kiln::ModelInfo plain = token_model(false), text = token_model(true);
  DecodeLimits limits;
  limits.max_elements = 1 << 16;
  for (const kiln::ModelInfo* info : {&plain, &text}) {
    try {
      InferRequest r = decode_infer_request(input, *info, limits);
      std::string out;
      for (const kiln::NamedTensor& t : r.inputs) append_tensor_json(out, t.name, t.tensor);
      append_bytes_json(out, "text", r.texts);
    } catch (const HttpError&) {
    }
  }
  nlohmann::json body;
  try {
    body = parse_json_body(input);
  } catch (const HttpError&) {
    return;
  }
  auto each = [&](auto&& f) {
    try {
      f();
    } catch (const HttpError&) {
    }
  };
  each([&] { tei_texts(body, "inputs", 64); });
  each([&] { tei_texts(body, "input", 64); });
  each([&] { tei_flag(body, "normalize", true); });
  each([&] { tei_string(body, "model"); });
  each([&] { tei_predict_inputs(body, 64); });
  each([&] { tei_rerank_inputs(body, 64); });
  each([&] { base64_floats({1.5f, -2.f}).size(); openai_encoding_format(body); });
}

}  // namespace

KILN_FUZZ_TARGET({ parse(input); })
