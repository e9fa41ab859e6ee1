// kiln serve: compiled models behind HTTP (the Open Inference Protocol and TEI-compatible text routes) and
// gRPC (the Open Inference Protocol),
// until SIGTERM or SIGINT. The serving itself is src/server/ (router, transport, repository, metrics);
// this file reads flags and the --config file, starts it, and runs the graceful shutdown.
#include <pthread.h>
#include <signal.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <mutex>
#include <thread>

#include <nlohmann/json.hpp>

#include "cli/commands.h"
#include "kiln/error.h"
#include "kiln/topology.h"
#include "server/grpc_server.h"
#include "server/http_server.h"
#include "server/model_repository.h"
#include "server/router.h"
#include "util/file.h"

namespace kiln::cli {
namespace {

struct ServeArgs {
  std::vector<std::string> artifacts;
  std::string repository, host = "127.0.0.1", api_key, tls_cert, tls_key, config, log_format = "text";
  int http_port = 8000, grpc_port = 8001, instances = 1, pipeline = 0, threads = 0, max_batch = 0, http_threads = 512;
  int64_t max_batch_delay_us = 0, request_timeout_ms = 0, read_timeout_ms = 10000;
  int64_t max_queue = 1024, max_body_bytes = 32 << 20, max_client_batch = 1024;
  double grace_period_s = 30;
};

// --config FILE: a JSON object of option names (without the dashes, '-' or '_') and values; options
// given on the command line win.
void apply_config(CLI::App* cmd, const std::string& path) {
  const std::string text = read_file(path, "--config file");
  nlohmann::json j;
  try {
    j = nlohmann::json::parse(text);
  } catch (const nlohmann::json::exception& e) {  // parse_error, or out_of_range for a number beyond a double
    fail("--config '", path, "' is not valid JSON: ", e.what());
  }
  if (!j.is_object()) fail("--config '", path, "' must hold a JSON object of option names and values");
  for (const auto& [key, value] : j.items()) {
    std::string flag = "--" + key;
    for (char& c : flag) c = c == '_' ? '-' : c;
    CLI::Option* o = cmd->get_option_no_throw(flag);
    if (!o || flag == "--config") fail("--config '", path, "': unknown option '", key, "' (see kiln serve --help)");
    if (o->count() > 0) continue;  // the command line wins
    std::string v;
    if (value.is_string()) v = value.get<std::string>();
    else if (value.is_number() || value.is_boolean()) v = value.dump();
    else fail("--config '", path, "': option '", key, "' must be a string, number or boolean");
    try {
      o->add_result(v);
      o->run_callback();
    } catch (const CLI::Error& e) {
      fail("--config '", path, "': option '", key, "': ", e.what());
    }
  }
}

int serve(const ServeArgs& a) {
  // Signals go to the waiting thread below only: blocked before any thread starts (threads inherit it).
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGTERM);
  sigaddset(&stop_signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);
  signal(SIGPIPE, SIG_IGN);  // a client that hangs up is the transport's error, not a reason to die

  if (a.artifacts.empty() == a.repository.empty())
    fail("give compiled artifacts (kiln serve model.kiln ...) or --model-repository DIR, not ", a.artifacts.empty() ? "neither" : "both");
  if (a.http_port < 0 || a.http_port > 65535) fail("--http-port must be 0..65535, got ", a.http_port);
  if (a.grpc_port < 0 || a.grpc_port > 65535) fail("--grpc-port must be 0..65535 (0: no gRPC), got ", a.grpc_port);
  if (a.instances < 1) fail("--instances must be >= 1, got ", a.instances);
  check_threads(a.threads);
  if (a.max_queue < 1) fail("--max-queue must be >= 1, got ", a.max_queue);
  if (a.max_body_bytes < 1) fail("--max-body-bytes must be >= 1, got ", a.max_body_bytes);
  if (a.request_timeout_ms < 0) fail("--request-timeout-ms must be >= 0, got ", a.request_timeout_ms);
  if (a.read_timeout_ms < 1) fail("--read-timeout-ms must be >= 1, got ", a.read_timeout_ms);
  if (a.max_batch_delay_us < 0) fail("--max-batch-delay-us must be >= 0, got ", a.max_batch_delay_us);
  if (a.http_threads < 1) fail("--http-threads must be >= 1, got ", a.http_threads);
  if (a.max_client_batch < 1) fail("--max-client-batch must be >= 1, got ", a.max_client_batch);
  if (!(a.grace_period_s >= 0)) fail("--grace-period-s must be >= 0, got ", a.grace_period_s);
  if (a.log_format != "text" && a.log_format != "json") fail("--log-format must be text or json, got '", a.log_format, "'");

  if (a.pipeline < 0) fail("--pipeline must be >= 0 (0: as compiled), got ", a.pipeline);
  EngineOptions eo;
  eo.instances = a.instances;
  eo.pipeline_stages = a.pipeline;
  if (a.threads > 0) {
    if (a.instances != 1) fail("--threads places one replica; with --instances the CPUs are split evenly");
    eo.core_groups = threads_core_groups(a.threads);
  }
  eo.max_batch = a.max_batch;
  eo.max_queue_delay_us = a.max_batch_delay_us;
  eo.queue_capacity = static_cast<size_t>(a.max_queue);
  std::unique_ptr<server::ModelRepository> repo = a.repository.empty()
                                                      ? server::ModelRepository::from_artifacts(a.artifacts, eo)
                                                      : server::ModelRepository::from_folder(a.repository, eo);
  server::Metrics metrics;
  server::RouterOptions ro;
  ro.api_key = a.api_key;
  ro.request_timeout_ms = a.request_timeout_ms;
  ro.max_client_batch = static_cast<size_t>(a.max_client_batch);
  server::Router router(*repo, metrics, ro);
  server::HttpServerOptions ho;
  ho.host = a.host;
  ho.port = a.http_port;
  ho.max_body_bytes = static_cast<size_t>(a.max_body_bytes);
  ho.read_timeout_ms = static_cast<int>(a.read_timeout_ms);
  ho.threads = a.http_threads;
  ho.tls_cert = a.tls_cert;
  ho.tls_key = a.tls_key;
  ho.json_log = a.log_format == "json";
  server::HttpServer http(router, ho);
  std::unique_ptr<server::GrpcServer> grpc;
  if (a.grpc_port != 0) {
    server::GrpcServerOptions go;
    go.host = a.host;
    go.port = a.grpc_port;
    go.max_message_bytes = static_cast<size_t>(a.max_body_bytes);
    go.tls_cert = a.tls_cert;
    go.tls_key = a.tls_key;
    grpc = std::make_unique<server::GrpcServer>(*repo, metrics, router, go);
  }

  std::string served;
  for (const auto& m : repo->models()) served += (served.empty() ? "" : ", ") + m->name + "/" + m->version;
  std::fprintf(stderr, "kiln serve: listening on %s://%s:%d%s (models: %s)\n", a.tls_cert.empty() ? "http" : "https",
               a.host.c_str(), http.port(), grpc ? (", gRPC " + a.host + ":" + std::to_string(grpc->port())).c_str() : "",
               served.c_str());
  std::fflush(stderr);

  std::atomic<bool> finished{false};
  std::thread http_thread([&] {
    http.run();
    finished = true;
  });
  int sig = 0;
  sigwait(&stop_signals, &sig);
  std::fprintf(stderr, "kiln serve: %s: not ready; finishing the requests in flight (grace period %.0f s)\n",
               sig == SIGTERM ? "SIGTERM" : "SIGINT", a.grace_period_s);
  std::fflush(stderr);
  router.set_ready(false);
  http.stop();
  std::thread grpc_stop;
  if (grpc) grpc_stop = std::thread([&] { grpc->shutdown(a.grace_period_s); });
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::duration<double>(a.grace_period_s);
  while (!finished && std::chrono::steady_clock::now() < deadline) std::this_thread::sleep_for(std::chrono::milliseconds(20));
  if (!finished) {
    std::fprintf(stderr, "kiln: error: requests were still running after the grace period of %.0f s; exiting\n", a.grace_period_s);
    std::fflush(stderr);
    std::_Exit(1);
  }
  http_thread.join();
  if (grpc_stop.joinable()) grpc_stop.join();
  std::fprintf(stderr, "kiln serve: stopped\n");
  return 0;
}

}  // namespace

Command add_serve(CLI::App& app) {
  auto args = std::make_shared<ServeArgs>();
  CLI::App* cmd = app.add_subcommand(
      "serve",
      "Serve compiled models: the Open Inference Protocol (KServe v2) over HTTP and gRPC, and Text\n"
      "Embeddings Inference-compatible text routes, with dynamic batching, metrics and graceful shutdown (docs/serve.md)");
  cmd->add_option("artifacts", args->artifacts, "Compiled .kiln files, each served under its file stem as version 1");
  cmd->add_option("--model-repository", args->repository, "A folder of <name>/<version>/model.kiln (Triton's layout)");
  cmd->add_option("--host", args->host, "Address to listen on (default 127.0.0.1; 0.0.0.0 for every interface)");
  cmd->add_option("--http-port", args->http_port, "HTTP port (default 8000; 0 picks a free one)");
  cmd->add_option("--grpc-port", args->grpc_port, "gRPC port of the Open Inference Protocol (default 8001; 0: no gRPC)");
  cmd->add_option("--instances", args->instances, "Replicas of each model, one core group each (default 1)");
  cmd->add_option("--pipeline", args->pipeline, "Pipeline stages per replica, one core group each (default 0: as compiled)");
  add_threads_option(cmd, args->threads);
  cmd->add_option("--max-batch", args->max_batch, "Rows merged into one model call (default: the compiled batch)");
  cmd->add_option("--max-batch-delay-us", args->max_batch_delay_us, "How long to wait for more rows before a partial batch (default 0)");
  cmd->add_option("--max-queue", args->max_queue, "Requests waiting per model; beyond it 503 with Retry-After (default 1024)");
  cmd->add_option("--max-body-bytes", args->max_body_bytes, "Largest request body; beyond it 413 (default 33554432)");
  cmd->add_option("--max-client-batch", args->max_client_batch, "Most rows or texts in one request (default 1024)");
  cmd->add_option("--request-timeout-ms", args->request_timeout_ms, "Answer 504 when a request has no answer after this (default 0: none)");
  cmd->add_option("--read-timeout-ms", args->read_timeout_ms, "A request must arrive in full within this, else the connection is dropped (default 10000)");
  cmd->add_option("--http-threads", args->http_threads, "Connections served at once (default 512)");
  cmd->add_option("--api-key", args->api_key, "Require 'Authorization: Bearer KEY' on inference and metadata routes (health and /metrics stay open)");
  cmd->add_option("--tls-cert", args->tls_cert, "PEM certificate: serve HTTPS (with --tls-key)");
  cmd->add_option("--tls-key", args->tls_key, "PEM private key of --tls-cert");
  cmd->add_option("--config", args->config, "JSON file of options (names without dashes, e.g. {\"instances\": 2}); flags win (kiln tune writes one)");
  cmd->add_option("--log-format", args->log_format, "Access log lines on stderr: text or json (default text)");
  cmd->add_option("--grace-period-s", args->grace_period_s, "On SIGTERM, how long requests in flight may take before exit (default 30)");
  return [args, cmd]() {
    if (!args->config.empty()) apply_config(cmd, args->config);
    return serve(*args);
  };
}

}  // namespace kiln::cli
