// Every HTTP route of `kiln serve`, transport-neutral: HttpRequest in, HttpResponse out. The transport
// (server/http_server.h) only moves bytes; tests and the fuzz target call handle() directly.
//
// Routes (docs/serve.md):
//   Open Inference Protocol (KServe v2) REST
//     GET  /v2/health/live | /v2/health/ready          probes (never need the API key)
//     GET  /v2                                         server metadata
//     GET  /v2/models/{m}[/versions/{v}]               model metadata
//     GET  /v2/models/{m}[/versions/{v}]/ready         model readiness
//     POST /v2/models/{m}[/versions/{v}]/infer         inference: token tensors, or `text` / `text_pair`
//   Text Embeddings Inference compatible (models with a tokenizer), optionally under /models/{m}/
//     POST /embed  /predict  /rerank  /tokenize  /v1/embeddings      GET /info
//   GET /metrics                                       Prometheus (never needs the API key)
// Errors are {"error": "..."} with 400 (bad request), 401 (API key), 404 (unknown model or route),
// 405 (method), 413 (body too large, from the transport), 503 (queue full or shutting down, with
// Retry-After) or 504 (the request timeout passed); 500 only for a Kiln bug.
//
// Thread safety: handle() may be called from any number of threads at once.
#pragma once

#include <atomic>
#include <chrono>
#include <memory>
#include <string>

#include "server/http_types.h"
#include "server/metrics.h"
#include "server/model_repository.h"
#include "server/oip_json.h"

namespace kiln::server {

struct RouterOptions {
  std::string api_key;            // empty: no authentication
  int64_t request_timeout_ms = 0;  // 0: none
  DecodeLimits limits;
  size_t max_client_batch = 1024;  // texts per TEI request
};

class Router {
 public:
  Router(const ModelRepository& repo, Metrics& metrics, RouterOptions options);
  HttpResponse handle(const HttpRequest& request);
  // Readiness turns false at once when shutdown begins (SIGTERM): probes see 503, inference routes too.
  void set_ready(bool ready) { ready_ = ready; }
  bool ready() const { return ready_; }
  const RouterOptions& options() const { return options_; }

 private:
  const ModelRepository& repo_;
  Metrics& metrics_;
  RouterOptions options_;
  std::atomic<bool> ready_{true};
};

}  // namespace kiln::server
