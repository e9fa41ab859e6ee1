// The Open Inference Protocol over gRPC (service inference.GRPCInferenceService, from
// proto/open_inference_grpc.proto): ServerLive, ServerReady, ModelReady, ServerMetadata, ModelMetadata and
// ModelInfer, with typed `contents` or `raw_input_contents` (answered in the same form), text inputs
// like the HTTP route, the API key as `authorization: Bearer KEY` metadata, TLS, and the same models,
// engines, limits and metrics as the HTTP server. Errors are gRPC statuses: INVALID_ARGUMENT (bad
// request), UNAUTHENTICATED, NOT_FOUND (model or version), UNAVAILABLE (queue full, shutting down),
// DEADLINE_EXCEEDED (request timeout), FAILED_PRECONDITION, INTERNAL (a Kiln bug).
#pragma once

#include <memory>
#include <string>

#include "server/metrics.h"
#include "server/model_repository.h"
#include "server/router.h"

namespace kiln::server {

struct GrpcServerOptions {
  std::string host = "127.0.0.1";
  int port = 8001;               // 0: a free port
  size_t max_message_bytes = 32 << 20;
  std::string tls_cert, tls_key;  // PEM files; both or neither
};

class GrpcServer {
 public:
  // Starts serving at once; throws InvalidInputError naming host:port when it cannot listen.
  // `router` supplies readiness and the shared request options (API key, limits, timeout).
  GrpcServer(const ModelRepository& repo, Metrics& metrics, const Router& router, const GrpcServerOptions& options);
  ~GrpcServer();
  // Stops accepting calls; calls in flight get until `grace_s` to finish, then are cancelled.
  void shutdown(double grace_s);
  int port() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace kiln::server
