// The server's transport-neutral request and response: what the router (server/router.h) maps to model
// calls, whatever carried the bytes (cpp-httplib over TCP or TLS, or a test calling the router directly).
#pragma once

#include <map>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

namespace kiln::server {

struct HttpRequest {
  std::string method;  // "GET", "POST", ...
  std::string path;    // without the query string, percent-decoded by the transport
  std::map<std::string, std::string> headers;  // names lower-cased
  std::string body;
  std::string remote;  // peer address, for the access log

  // A header's value, or "" when absent (`name` lower-case).
  const std::string& header(const std::string& name) const;
};

struct HttpResponse {
  int status = 200;
  std::string content_type = "application/json";
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;  // extra ones (Retry-After, WWW-Authenticate)
  // For the access log and metrics: the model that answered ("" for server routes) and its version.
  std::string model, version;
};

// A request the server answers with a 4xx/5xx status and {"error": message}: thrown by the route code,
// caught once by the router. `retry_after` (seconds, as text) is sent as Retry-After when not empty.
class HttpError : public std::runtime_error {
 public:
  HttpError(int status, const std::string& message, std::string retry_after = "")
      : std::runtime_error(message), status_(status), retry_after_(std::move(retry_after)) {}
  int status() const { return status_; }
  const std::string& retry_after() const { return retry_after_; }

 private:
  int status_;
  std::string retry_after_;
};

// {"error": message} as JSON text (message made valid UTF-8 first).
std::string error_json(const std::string& message);

// Whether an Authorization value is "Bearer <key>", compared in time independent of where they differ.
bool bearer_matches(const std::string& authorization, const std::string& key);

}  // namespace kiln::server
