#include "server/router.h"

#include <algorithm>
#include <cmath>

#include "kiln/error.h"
#include "kiln/text.h"
#include "kiln/version.h"
#include "server/inference.h"
#include "server/tei_json.h"

namespace kiln::server {
namespace {

using json = nlohmann::json;
using Clock = std::chrono::steady_clock;

std::vector<std::string> split_path(const std::string& path) {
  std::vector<std::string> segs;
  size_t i = 0;
  while (i < path.size()) {
    size_t j = path.find('/', i);
    if (j == std::string::npos) j = path.size();
    if (j > i) segs.push_back(path.substr(i, j - i));
    i = j + 1;
  }
  return segs;
}

HttpResponse json_response(const json& j, int status = 200) {
  HttpResponse r;
  r.status = status;
  r.body = j.dump(-1, ' ', false, json::error_handler_t::replace);
  return r;
}

void require_method(const HttpRequest& r, const char* method) {
  if (r.method != method) throw HttpError(405, r.method + " is not allowed on " + r.path + " (use " + method + ")");
}

// $metadata_model_response, plus Kiln's own "parameters" (task, precision, labels, buckets).
json model_metadata_json(const std::string& name, const std::vector<std::string>& versions, const ModelInfo& info) {
  auto tensors = [](const std::vector<TensorInfo>& specs) {
    json a = json::array();
    for (const TensorInfo& t : specs) a.push_back({{"name", t.name}, {"datatype", oip_datatype(t.dtype)}, {"shape", t.request}});
    return a;
  };
  json j = {{"name", name}, {"versions", versions}, {"platform", "kiln"}, {"inputs", tensors(info.inputs)},
            {"outputs", tensors(info.outputs)}};
  j["parameters"] = {{"task", task_name(info.task)}, {"precision", info.precision}, {"labels", info.labels},
                     {"sequence_buckets", info.seq_buckets}, {"max_length", info.max_length},
                     {"text_inputs", info.has_tokenizer}};
  return j;
}

}  // namespace

std::string error_json(const std::string& message) {
  return json{{"error", printable(message)}}.dump(-1, ' ', false, json::error_handler_t::replace);
}

bool bearer_matches(const std::string& authorization, const std::string& key) {
  const std::string want = "Bearer " + key;
  unsigned diff = authorization.size() != want.size();
  for (size_t i = 0; i < want.size(); ++i)
    diff |= static_cast<unsigned char>(i < authorization.size() ? authorization[i] : 0) ^ static_cast<unsigned char>(want[i]);
  return diff == 0;
}

const std::string& HttpRequest::header(const std::string& name) const {
  static const std::string none;
  auto it = headers.find(name);
  return it == headers.end() ? none : it->second;
}

Router::Router(const ModelRepository& repo, Metrics& metrics, RouterOptions options)
    : repo_(repo), metrics_(metrics), options_(std::move(options)) {}

namespace {

// What the routes share while one request is handled.
struct Call {
  const ModelRepository& repo;
  const RouterOptions& options;
  const HttpRequest& req;
  const ServedModel* model = nullptr;  // once resolved: the access log names it
  bool inference = false;              // an inference route (counted in the model's request metrics)

  const ServedModel& use(const std::string& name, const std::string& version) {
    model = &resolve_model(repo, name, version);
    return *model;
  }
  // The model a TEI route serves: the path's, the body's "model" field, or the only one.
  const ServedModel& tei_model(const std::string& path_model, const json& body) {
    if (!path_model.empty()) return use(path_model, "");
    const std::string named = tei_string(body, "model");
    if (!named.empty()) return use(named, "");
    const std::string only = repo.only_name();
    if (only.empty()) throw HttpError(400, "this server serves several models: name one with the 'model' field or a /models/{name}/ path prefix");
    return use(only, "");
  }

  std::vector<NamedTensor> run(const ServedModel& m, std::vector<NamedTensor> inputs) const {
    return run_model(m, std::move(inputs), limits());
  }
  InferenceLimits limits() const { return {options.max_client_batch, options.request_timeout_ms}; }

  // A TEI route's body: a JSON object.
  json object_body() const {
    json body = parse_json_body(req.body);
    if (!body.is_object()) throw HttpError(400, "the body must be a JSON object");
    return body;
  }

  static void require_text(const ServedModel& m) {
    if (!m.model->info().has_tokenizer)
      throw HttpError(400, "model '" + m.name + "' has no tokenizer (compile it with --vocab or --tokenizer to send text)");
  }

  // --- Open Inference Protocol ---
  HttpResponse infer(const ServedModel& m) {
    InferRequest r = decode_infer_request(req.body, m.model->info(), options.limits);
    InferenceRequest q;
    q.inputs = std::move(r.inputs);
    q.text = r.text;
    q.texts = std::move(r.texts);
    q.pairs = std::move(r.text_pairs);
    if (r.parameters.is_object() && r.parameters.contains("truncate")) {
      if (!r.parameters["truncate"].is_boolean()) throw HttpError(400, "parameter 'truncate' must be true or false");
      q.truncate = r.parameters["truncate"].get<bool>();
    }
    const InferenceResult result = run_inference(m, std::move(q), limits());
    std::string body = "{\"model_name\":";
    append_json_string(body, m.name);
    body += ",\"model_version\":";
    append_json_string(body, m.version);
    if (r.has_id) {
      body += ",\"id\":";
      append_json_string(body, r.id);
    }
    body += ",\"outputs\":[";
    bool first = true;
    auto next = [&] {
      if (!first) body += ',';
      first = false;
    };
    for (const NamedTensor& o : result.outputs)
      if (output_wanted(r.outputs, o.name)) next(), append_tensor_json(body, o.name, o.tensor);
    if (result.classified && output_wanted(r.outputs, "label")) next(), append_bytes_json(body, "label", result.labels);
    if (result.classified && output_wanted(r.outputs, "score")) next(), append_fp32_json(body, "score", result.scores);
    body += "]}";
    HttpResponse res;
    res.body = std::move(body);
    return res;
  }

  // --- Text Embeddings Inference ---
  std::vector<NamedTensor> run_texts(const ServedModel& m, const std::vector<std::string>& texts,
                                     const std::vector<std::string>& pairs, bool truncate, std::vector<Encoding>& enc) {
    require_text(m);
    enc = encode_texts(*m.model, texts, pairs, truncate);
    return run(m, text_inputs(*m.model, enc));
  }

  static void require_embedder(const ServedModel& m, const char* route) {
    if (is_classifier(m.model->info()))
      throw HttpError(424, "model '" + m.name + "' is a classifier (task " + task_name(m.model->info().task) + "); " + route +
                               " needs an embedding model (use /predict)");
  }

  HttpResponse embed(const std::string& path_model) {
    const json body = object_body();
    const ServedModel& m = tei_model(path_model, body);
    require_embedder(m, "/embed");
    const std::vector<std::string> texts = tei_texts(body, "inputs", options.max_client_batch);
    std::vector<Encoding> enc;
    const std::vector<Embedding> e = embeddings(run_texts(m, texts, {}, tei_flag(body, "truncate", false), enc), texts.size(), tei_flag(body, "normalize", true));
    json out = json::array();
    for (const Embedding& x : e) out.push_back(x.vector);
    return json_response(out);
  }

  HttpResponse openai_embeddings(const std::string& path_model) {
    const json body = object_body();
    const ServedModel& m = tei_model(path_model, body);
    require_embedder(m, "/v1/embeddings");
    const std::vector<std::string> texts = tei_texts(body, "input", options.max_client_batch);
    const std::string format = openai_encoding_format(body);
    std::vector<Encoding> enc;
    const std::vector<Embedding> e = embeddings(run_texts(m, texts, {}, tei_flag(body, "truncate", false), enc), texts.size(), true);
    json data = json::array();
    size_t tokens = 0;
    for (size_t i = 0; i < e.size(); ++i) {
      tokens += enc[i].ids.size();
      json item = {{"object", "embedding"}, {"index", i}};
      if (format == "float") item["embedding"] = e[i].vector;
      else item["embedding"] = base64_floats(e[i].vector);
      data.push_back(std::move(item));
    }
    return json_response({{"object", "list"}, {"data", data}, {"model", m.name},
                          {"usage", {{"prompt_tokens", tokens}, {"total_tokens", tokens}}}});
  }

  static void require_classifier(const ServedModel& m, const char* route) {
    if (!is_classifier(m.model->info()))
      throw HttpError(424, "model '" + m.name + "' is not a classifier (task " + task_name(m.model->info().task) + "); " + route +
                               " needs one (use /embed)");
  }

  static json label_scores(const Classification& c, bool raw) {
    json a = json::array();
    std::vector<LabelScore> s = c.scores;
    if (raw) std::stable_sort(s.begin(), s.end(), [](const LabelScore& x, const LabelScore& y) { return x.logit > y.logit; });
    for (const LabelScore& x : s) a.push_back({{"label", x.label}, {"score", raw ? static_cast<double>(x.logit) : x.score}});
    return a;
  }

  HttpResponse predict(const std::string& path_model) {
    const json body = object_body();
    const ServedModel& m = tei_model(path_model, body);
    require_classifier(m, "/predict");
    const PredictInputs p = tei_predict_inputs(body, options.max_client_batch);
    const bool pair_model = m.model->info().task == Task::pair_classification;
    if (p.any_pair && !pair_model) throw HttpError(400, "model '" + m.name + "' classifies single texts; send strings, not pairs");
    std::vector<Encoding> enc;
    const std::vector<NamedTensor> out =
        run_texts(m, p.texts, pair_model ? p.pairs : std::vector<std::string>{}, tei_flag(body, "truncate", false), enc);
    const std::vector<Classification> c = classifications(*m.model, out.at(0).tensor);
    const bool raw = tei_flag(body, "raw_scores", false);
    if (!p.batch) return json_response(label_scores(c.at(0), raw));
    json a = json::array();
    for (const Classification& x : c) a.push_back(label_scores(x, raw));
    return json_response(a);
  }

  HttpResponse rerank(const std::string& path_model) {
    const json body = object_body();
    const ServedModel& m = tei_model(path_model, body);
    if (m.model->info().task != Task::pair_classification)
      throw HttpError(424, "model '" + m.name + "' is not a pair classifier (task " + task_name(m.model->info().task) + "); /rerank needs one");
    const RerankInputs in = tei_rerank_inputs(body, options.max_client_batch);
    const std::vector<std::string>& texts = in.texts;
    const std::vector<std::string> queries(texts.size(), in.query);
    std::vector<Encoding> enc;
    const std::vector<NamedTensor> out = run_texts(m, queries, texts, tei_flag(body, "truncate", false), enc);
    const Tensor& logits = out.at(0).tensor;
    const int64_t n = logits.dims().size() == 2 ? logits.dims()[1] : 0;
    if (n < 1) throw HttpError(500, "internal error: the pair classifier's output is not [rows, classes]");
    const bool raw = tei_flag(body, "raw_scores", false), with_text = tei_flag(body, "return_text", false);
    const std::vector<Classification> c = n > 1 ? classifications(*m.model, logits) : std::vector<Classification>{};
    // One logit: sigmoid of it (a cross-encoder); several: the probability of the last class (the
    // "paraphrase" / "relevant" class of a two-class pair classifier).
    std::vector<std::pair<double, size_t>> scored;
    for (size_t i = 0; i < texts.size(); ++i) {
      const float* row = logits.data_as<float>() + i * n;
      double s = raw ? row[n - 1] : 0;
      if (!raw) {
        if (n == 1) s = 1 / (1 + std::exp(-static_cast<double>(row[0])));
        else
          for (const LabelScore& x : c[i].scores)
            if (x.index == n - 1) s = x.score;
      }
      scored.emplace_back(s, i);
    }
    std::stable_sort(scored.begin(), scored.end(), [](const auto& a, const auto& b) { return a.first > b.first; });
    json a = json::array();
    for (const auto& [s, i] : scored) {
      json item = {{"index", i}, {"score", s}};
      if (with_text) item["text"] = texts[i];
      a.push_back(std::move(item));
    }
    return json_response(a);
  }

  HttpResponse tokenize(const std::string& path_model) {
    const json body = object_body();
    const ServedModel& m = tei_model(path_model, body);
    require_text(m);
    const std::vector<std::string> texts = tei_texts(body, "inputs", options.max_client_batch);
    const bool specials = tei_flag(body, "add_special_tokens", true);
    const std::vector<Encoding> enc = encode_texts(*m.model, texts, {}, true);
    json all = json::array();
    for (const Encoding& e : enc) {
      json toks = json::array();
      for (size_t i = 0; i < e.ids.size(); ++i) {
        const bool special = (i == 0 || i + 1 == e.ids.size()) && (e.tokens[i] == "[CLS]" || e.tokens[i] == "[SEP]");
        if (special && !specials) continue;
        // Character offsets are not tracked by Kiln's WordPiece (normalisation rewrites the text): null.
        toks.push_back({{"id", e.ids[i]}, {"text", e.tokens[i]}, {"special", special}, {"start", nullptr}, {"stop", nullptr}});
      }
      all.push_back(std::move(toks));
    }
    return json_response(all);  // one list per input, a single input too (as TEI answers)
  }

  HttpResponse info(const std::string& path_model) {
    const ServedModel& m = tei_model(path_model, json::object());
    const ModelInfo& i = m.model->info();
    json type;
    if (is_classifier(i)) {
      json id2label = json::object(), label2id = json::object();
      for (size_t k = 0; k < i.labels.size(); ++k) {
        id2label[std::to_string(k)] = i.labels[k];
        label2id[i.labels[k]] = k;
      }
      type[i.task == Task::pair_classification ? "reranker" : "classifier"] = {{"id2label", id2label}, {"label2id", label2id}};
    } else {
      type["embedding"] = {{"pooling", "model"}};
    }
    const int64_t batch = m.engine->compiled_batch();
    return json_response({{"model_id", m.name}, {"model_sha", nullptr}, {"model_dtype", i.precision},
                          {"model_type", type}, {"max_concurrent_requests", 0}, {"max_input_length", i.max_length},
                          {"max_batch_tokens", batch * i.max_length}, {"max_client_batch_size", options.max_client_batch},
                          {"tokenization_workers", 0}, {"version", std::string(kiln::version())}, {"kiln_model_version", m.version}});
  }
};

HttpResponse route_models(Call& call, const std::vector<std::string>& s, bool ready) {
  const HttpRequest& req = call.req;
  if (s.size() == 1 && s[0] == "v2") {
    require_method(req, "GET");
    return json_response({{"name", "kiln"}, {"version", std::string(kiln::version())}, {"extensions", json::array()}});
  }
  if (s.size() >= 3 && s[0] == "v2" && s[1] == "models") {
    const std::string name = s[2];
    std::string version;
    size_t i = 3;
    if (s.size() >= 5 && s[3] == "versions") {
      version = s[4];
      i = 5;
    }
    const std::vector<std::string> rest(s.begin() + static_cast<long>(i), s.end());
    if (rest.empty()) {
      require_method(req, "GET");
      const ServedModel& m = call.use(name, version);
      return json_response(model_metadata_json(m.name, call.repo.versions(m.name), m.model->info()));
    }
    if (rest.size() == 1 && rest[0] == "ready") {
      require_method(req, "GET");
      const ServedModel& m = call.use(name, version);
      return json_response({{"name", m.name}, {"version", m.version}, {"ready", ready}}, ready ? 200 : 503);
    }
    if (rest.size() == 1 && rest[0] == "infer") {
      require_method(req, "POST");
      const ServedModel& m = call.use(name, version);
      call.inference = true;
      if (!ready) throw HttpError(503, "the server is shutting down", "5");
      return call.infer(m);
    }
  }
  // TEI routes, at the root or under /models/{m}/.
  std::string model;
  size_t i = 0;
  if (s.size() >= 3 && s[0] == "models") {
    model = s[1];
    i = 2;
  }
  const std::vector<std::string> rest(s.begin() + static_cast<long>(std::min(i, s.size())), s.end());
  auto tei = [&](const char* method, auto handler) {
    require_method(req, method);
    call.inference = std::string(method) == "POST" && rest[0] != "tokenize";
    if (!ready && std::string(method) == "POST") throw HttpError(503, "the server is shutting down", "5");
    return handler();
  };
  if (rest.size() == 1) {
    if (rest[0] == "embed") return tei("POST", [&] { return call.embed(model); });
    if (rest[0] == "predict") return tei("POST", [&] { return call.predict(model); });
    if (rest[0] == "rerank") return tei("POST", [&] { return call.rerank(model); });
    if (rest[0] == "tokenize") return tei("POST", [&] { return call.tokenize(model); });
    if (rest[0] == "info") return tei("GET", [&] { return call.info(model); });
  }
  if (rest.size() == 2 && rest[0] == "v1" && rest[1] == "embeddings") return tei("POST", [&] { return call.openai_embeddings(model); });
  throw HttpError(404, "no route " + req.method + " " + req.path + " (see GET /v2, /v2/models/{name}, /v2/models/{name}/infer, /embed, /predict, /rerank, /tokenize, /info, /v1/embeddings, /metrics)");
}

}  // namespace

HttpResponse Router::handle(const HttpRequest& request) {
  const Clock::time_point start = Clock::now();
  Call call{repo_, options_, request};
  HttpResponse res;
  try {
    const std::vector<std::string> s = split_path(request.path);
    auto is = [&](std::initializer_list<const char*> want) {
      if (s.size() != want.size()) return false;
      size_t k = 0;
      for (const char* w : want)
        if (s[k++] != w) return false;
      return true;
    };
    if (is({"v2", "health", "live"})) {
      require_method(request, "GET");
      res = json_response({{"live", true}});
    } else if (is({"v2", "health", "ready"})) {
      require_method(request, "GET");
      res = json_response({{"ready", ready()}}, ready() ? 200 : 503);
    } else if (is({"metrics"})) {
      require_method(request, "GET");
      res.content_type = "text/plain; version=0.0.4; charset=utf-8";
      res.body = metrics_.render(repo_);
    } else {
      if (!options_.api_key.empty()) {
        const std::string& auth = request.header("authorization");
        if (!bearer_matches(auth, options_.api_key)) {
          HttpError e(401, auth.empty() ? "this server needs an API key: send 'Authorization: Bearer <key>'" : "the API key is not valid");
          throw e;
        }
      }
      res = route_models(call, s, ready());
    }
  } catch (const HttpError& e) {
    res = HttpResponse{};
    res.status = e.status();
    res.body = error_json(e.what());
    if (!e.retry_after().empty()) res.headers.emplace_back("Retry-After", e.retry_after());
    if (e.status() == 401) res.headers.emplace_back("WWW-Authenticate", "Bearer");
  } catch (const QueueFullError& e) {
    res = HttpResponse{};
    res.status = 503;
    res.body = error_json(std::string("the server is busy: ") + e.what());
    res.headers.emplace_back("Retry-After", "1");
  } catch (const InternalError& e) {
    res = HttpResponse{};
    res.status = 500;
    res.body = error_json(e.what());
  } catch (const InvalidInputError& e) {
    res = HttpResponse{};
    res.status = 400;
    res.body = error_json(e.what());
  } catch (const std::bad_alloc&) {
    res = HttpResponse{};
    res.status = 503;
    res.body = error_json("out of memory for this request");
    res.headers.emplace_back("Retry-After", "1");
  } catch (const std::exception& e) {
    res = HttpResponse{};
    res.status = 500;
    res.body = error_json(std::string("internal error: ") + e.what());
  }
  if (call.model) {
    res.model = call.model->name;
    res.version = call.model->version;
  }
  if (call.model && call.inference) {
    metrics_.record(res.model, res.version, res.status < 400, std::chrono::duration<double>(Clock::now() - start).count());
  }
  metrics_.record_status(res.status);
  return res;
}

}  // namespace kiln::server
