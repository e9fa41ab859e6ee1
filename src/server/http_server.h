// The HTTP/1.1 transport of `kiln serve` (cpp-httplib, Debian's libcpp-httplib-dev): listens on
// host:port, plain or TLS (OpenSSL), hands each request to the Router and writes its answer; writes one
// access-log line per request. Limits the transport itself enforces: the body size (413 before the body
// is read), the read timeout (a slow or half-sent request is dropped, its thread freed), keep-alive
// idle time and requests per connection.
//
// Threads: a fixed pool of connection threads (`threads`), each serving one connection at a time; model
// work happens on the Engines' threads, so a connection thread only parses, waits and writes.
#pragma once

#include <memory>
#include <string>

#include "server/router.h"

namespace kiln::server {

struct HttpServerOptions {
  std::string host = "127.0.0.1";
  int port = 8000;
  size_t max_body_bytes = 32 << 20;
  int read_timeout_ms = 10000;     // a request must arrive in full within this
  int keep_alive_timeout_s = 30;   // an idle keep-alive connection is closed after this
  int threads = 512;               // connection threads (open connections served at once)
  std::string tls_cert, tls_key;   // PEM files; both or neither
  bool json_log = false;           // access log lines as JSON (else text)
};

class HttpServer {
 public:
  // Binds the port at once: throws kiln::InvalidInputError naming host:port when it is in use, or the
  // TLS files when they cannot be loaded.
  HttpServer(Router& router, const HttpServerOptions& options);
  ~HttpServer();
  // Serves until stop(); returns when every connection thread has finished its request.
  void run();
  // Stops accepting connections; requests in flight finish (run() returns after them).
  void stop();
  int port() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// One access-log line for a request answered with `bytes` of body after `ms`: text
// ("2026-12-02T15:00:00Z 127.0.0.1 POST /v2/models/m/infer 200 1234 B 3.21 ms m/1") or JSON
// ({"time": ..., "remote": ..., "method": ..., "path": ..., "status": ..., "bytes": ..., "ms": ..., "model": ...}).
std::string access_log_line(const HttpRequest& req, const HttpResponse& res, size_t bytes, double ms, bool json);

}  // namespace kiln::server
