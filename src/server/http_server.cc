#include "server/http_server.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <chrono>
#include <cstdlib>
#include <cstdio>
#include <ctime>
#include <mutex>

#include <httplib.h>
#include <nlohmann/json.hpp>

#include "kiln/error.h"

namespace kiln::server {

namespace {

// cpp-httplib 0.11 listens with a backlog of 5 (a constant compiled into Debian's library): a burst of
// clients connecting at once overflows it and some connections are reset. listen() again on the bound
// socket raises the backlog (Linux allows it); the socket is found as this process's listening socket
// on `port`.
void widen_backlog(int port) {
  DIR* d = opendir("/proc/self/fd");
  if (!d) return;
  while (dirent* e = readdir(d)) {
    const int fd = std::atoi(e->d_name);
    if (fd <= 2) continue;
    int listening = 0;
    socklen_t len = sizeof listening;
    if (getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &listening, &len) != 0 || !listening) continue;
    sockaddr_storage addr{};
    socklen_t alen = sizeof addr;
    if (getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &alen) != 0) continue;
    const int p = addr.ss_family == AF_INET6 ? ntohs(reinterpret_cast<sockaddr_in6*>(&addr)->sin6_port)
                                             : ntohs(reinterpret_cast<sockaddr_in*>(&addr)->sin_port);
    if (p == port) ::listen(fd, SOMAXCONN);
  }
  closedir(d);
}

}  // namespace

struct HttpServer::Impl {
  Router& router;
  HttpServerOptions options;
  std::unique_ptr<httplib::Server> server;
  int port = 0;
  std::mutex log_mu;

  Impl(Router& r, const HttpServerOptions& o) : router(r), options(o) {
    if (o.tls_cert.empty() != o.tls_key.empty()) fail("--tls-cert and --tls-key go together: give both or neither");
    if (!o.tls_cert.empty()) {
#ifdef CPPHTTPLIB_OPENSSL_SUPPORT
      auto ssl = std::make_unique<httplib::SSLServer>(o.tls_cert.c_str(), o.tls_key.c_str());
      if (!ssl->is_valid()) fail("cannot load the TLS certificate '", o.tls_cert, "' and key '", o.tls_key, "' (PEM files, key matching the certificate)");
      server = std::move(ssl);
#else
      fail("this build of kiln has no TLS support (cpp-httplib without OpenSSL)");
#endif
    } else {
      server = std::make_unique<httplib::Server>();
    }
    const int threads = o.threads;
    server->new_task_queue = [threads] { return new httplib::ThreadPool(static_cast<size_t>(threads)); };
    server->set_read_timeout(o.read_timeout_ms / 1000, (o.read_timeout_ms % 1000) * 1000);
    server->set_write_timeout(30, 0);
    server->set_keep_alive_timeout(o.keep_alive_timeout_s);
    server->set_keep_alive_max_count(1000000);
    server->set_payload_max_length(o.max_body_bytes);
    // cpp-httplib writes the headers and the body in separate sends; with Nagle's algorithm on, the body
    // waits for the client's delayed ACK (40 ms on Linux): p50 44 ms for a 3 ms request at concurrency 64.
    server->set_tcp_nodelay(true);
    auto handler = [this](const httplib::Request& req, httplib::Response& res) { handle(req, res); };
    for (const char* m : {"GET", "POST", "PUT", "DELETE", "PATCH", "OPTIONS"}) {
      const std::string method = m;
      if (method == "GET") server->Get(".*", handler);
      else if (method == "POST") server->Post(".*", handler);
      else if (method == "PUT") server->Put(".*", handler);
      else if (method == "DELETE") server->Delete(".*", handler);
      else if (method == "PATCH") server->Patch(".*", handler);
      else server->Options(".*", handler);
    }
    // Answers the transport makes itself (413 body too large, 400 malformed request line): JSON too.
    server->set_error_handler([](const httplib::Request& req, httplib::Response& res) {
      if (!res.body.empty()) return;
      std::string msg = res.status == 413 ? "the request body is larger than the limit (--max-body-bytes)"
                                          : "the HTTP request could not be read (" + std::to_string(res.status) + ")";
      (void)req;
      res.set_content(error_json(msg), "application/json");
    });
    // SO_REUSEADDR only: cpp-httplib's default adds SO_REUSEPORT, with which a second server binds the same
    // port and silently shares its traffic instead of failing to start.
    server->set_socket_options([](socket_t sock) {
      int yes = 1;
      setsockopt(sock, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof yes);
    });
    port = o.port;
    if (o.port == 0) {
      port = server->bind_to_any_port(o.host.c_str());
      if (port < 0) fail("cannot listen on ", o.host, ": no free port");
    } else if (!server->bind_to_port(o.host.c_str(), o.port)) {
      fail("cannot listen on ", o.host, ":", o.port, " (in use, or not an address of this machine)");
    }
    widen_backlog(port);
  }

  void handle(const httplib::Request& in, httplib::Response& out) {
    const auto start = std::chrono::steady_clock::now();
    HttpRequest req;
    req.method = in.method;
    req.path = in.path;
    req.body = in.body;
    req.remote = in.remote_addr;
    for (const auto& [k, v] : in.headers) {
      std::string key = k;
      for (char& c : key) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      req.headers.emplace(std::move(key), v);
    }
    HttpResponse res = router.handle(req);
    out.status = res.status;
    for (const auto& [k, v] : res.headers) out.set_header(k, v);
    out.set_content(std::move(res.body), res.content_type.c_str());
    const double ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
    const std::string line = access_log_line(req, res, out.body.size(), ms, options.json_log);
    std::lock_guard<std::mutex> lock(log_mu);
    std::fprintf(stderr, "%s\n", line.c_str());
  }
};

HttpServer::HttpServer(Router& router, const HttpServerOptions& options) : impl_(std::make_unique<Impl>(router, options)) {}
HttpServer::~HttpServer() = default;
void HttpServer::run() { impl_->server->listen_after_bind(); }
void HttpServer::stop() { impl_->server->stop(); }
int HttpServer::port() const { return impl_->port; }

std::string access_log_line(const HttpRequest& req, const HttpResponse& res, size_t bytes, double ms, bool json) {
  char stamp[32];
  const std::time_t now = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&now, &tm);
  std::strftime(stamp, sizeof stamp, "%Y-%m-%dT%H:%M:%SZ", &tm);
  if (json) {
    nlohmann::json j = {{"time", stamp}, {"remote", req.remote}, {"method", req.method}, {"path", req.path},
                        {"status", res.status}, {"bytes", bytes}, {"ms", ms}};
    if (!res.model.empty()) j["model"] = res.model, j["version"] = res.version;
    return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  }
  char buf[96];
  std::snprintf(buf, sizeof buf, " %d %zu B %.2f ms", res.status, bytes, ms);
  return std::string(stamp) + " " + req.remote + " " + req.method + " " + printable(req.path) + buf +
         (res.model.empty() ? "" : " " + res.model + "/" + res.version);
}

}  // namespace kiln::server
