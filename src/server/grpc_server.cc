#include "server/grpc_server.h"

#include <chrono>
#include <cstring>
#include <limits>

#include <grpcpp/grpcpp.h>

#include "kiln/engine.h"
#include "kiln/error.h"
#include "kiln/version.h"
#include "open_inference_grpc.grpc.pb.h"
#include "server/inference.h"
#include "server/oip_json.h"
#include "util/file.h"

namespace kiln::server {
namespace {

using grpc::ServerContext;
using grpc::Status;
using grpc::StatusCode;
namespace pb = inference;

[[noreturn]] void bad(const std::string& m) { throw HttpError(400, m); }

// The status of a failed call, from the exception the request code threw (as the HTTP router maps them).
Status status_of(std::exception_ptr e) {
  try {
    std::rethrow_exception(e);
  } catch (const HttpError& h) {
    const StatusCode code = h.status() == 400   ? StatusCode::INVALID_ARGUMENT
                            : h.status() == 401 ? StatusCode::UNAUTHENTICATED
                            : h.status() == 404 ? StatusCode::NOT_FOUND
                            : h.status() == 413 ? StatusCode::RESOURCE_EXHAUSTED
                            : h.status() == 424 ? StatusCode::FAILED_PRECONDITION
                            : h.status() == 503 ? StatusCode::UNAVAILABLE
                            : h.status() == 504 ? StatusCode::DEADLINE_EXCEEDED
                                                : StatusCode::INTERNAL;
    return Status(code, h.what());
  } catch (const QueueFullError& q) {
    return Status(StatusCode::UNAVAILABLE, std::string("the server is busy: ") + q.what());
  } catch (const InternalError& i) {
    return Status(StatusCode::INTERNAL, i.what());
  } catch (const InvalidInputError& i) {
    return Status(StatusCode::INVALID_ARGUMENT, i.what());
  } catch (const std::exception& x) {
    return Status(StatusCode::INTERNAL, std::string("internal error: ") + x.what());
  }
}

// Raw little-endian elements of `count` values of `width` bytes.
template <typename T> std::vector<T> raw_values(const std::string& raw, int64_t count, const std::string& where) {
  if (raw.size() != static_cast<size_t>(count) * sizeof(T))
    bad(where + ": raw_input_contents has " + std::to_string(raw.size()) + " bytes, the shape needs " +
        std::to_string(static_cast<size_t>(count) * sizeof(T)));
  std::vector<T> v(static_cast<size_t>(count));
  if (count) std::memcpy(v.data(), raw.data(), raw.size());  // x86: little-endian already
  return v;
}

// BYTES elements: each a 4-byte little-endian length and the bytes.
std::vector<std::string> raw_strings(const std::string& raw, int64_t count, const std::string& where) {
  std::vector<std::string> out;
  size_t at = 0;
  while (at < raw.size()) {
    if (raw.size() - at < 4) bad(where + ": raw_input_contents ends inside an element's 4-byte length");
    uint32_t n = 0;
    for (int b = 0; b < 4; ++b) n |= static_cast<uint32_t>(static_cast<unsigned char>(raw[at + b])) << (8 * b);
    at += 4;
    if (raw.size() - at < n) bad(where + ": raw_input_contents element " + std::to_string(out.size()) + " is cut short");
    out.push_back(raw.substr(at, n));
    at += n;
  }
  if (static_cast<int64_t>(out.size()) != count)
    bad(where + ": the shape needs " + std::to_string(count) + " elements, raw_input_contents has " + std::to_string(out.size()));
  return out;
}

template <typename T> void check_count(const T& values, int64_t count, const std::string& where, const char* field) {
  if (static_cast<int64_t>(values.size()) != count)
    bad(where + ": the shape needs " + std::to_string(count) + " elements, contents." + field + " has " + std::to_string(values.size()));
}

// The request's tensors, checked as the HTTP decoder checks them (oip_json.h).
InferRequest decode(const pb::ModelInferRequest& req, const ModelInfo& info, const DecodeLimits& limits) {
  InferRequest r;
  r.id = req.id();
  r.has_id = !req.id().empty();
  const bool raw = req.raw_input_contents_size() > 0;
  if (raw && req.raw_input_contents_size() != req.inputs_size())
    bad("raw_input_contents has " + std::to_string(req.raw_input_contents_size()) + " entries for " + std::to_string(req.inputs_size()) + " inputs");
  if (req.inputs_size() == 0) bad("'inputs' must not be empty");
  std::vector<std::string> names;
  for (int i = 0; i < req.inputs_size(); ++i) {
    const pb::ModelInferRequest::InferInputTensor& in = req.inputs(i);
    const std::string where = "input '" + in.name() + "'";
    if (std::find(names.begin(), names.end(), in.name()) != names.end()) bad(where + " is given twice");
    names.push_back(in.name());
    if (raw && in.has_contents()) bad(where + ": contents must not be set when raw_input_contents is used");
    const TensorInfo* spec = input_spec(info, in.name());
    check_datatype(spec, in.datatype(), where);
    int64_t count = 0;
    Dims dims = checked_shape(std::vector<int64_t>(in.shape().begin(), in.shape().end()), limits, where, count);
    if (!spec) {
      if (dims.size() != 1) bad(where + ": a text input must have shape [N]");
      std::vector<std::string> v;
      if (raw) {
        v = raw_strings(req.raw_input_contents(i), count, where);
      } else {
        check_count(in.contents().bytes_contents(), count, where, "bytes_contents");
        v.assign(in.contents().bytes_contents().begin(), in.contents().bytes_contents().end());
      }
      if (in.name() == "text") r.texts = std::move(v), r.text = true;
      else r.text_pairs = std::move(v);
      continue;
    }
    Tensor t(spec->dtype, dims);
    const bool i32 = in.datatype() == "INT32";
    if (spec->dtype == DType::i64 || spec->dtype == DType::i32) {
      std::vector<int64_t> v;
      if (raw && i32) {
        for (int32_t x : raw_values<int32_t>(req.raw_input_contents(i), count, where)) v.push_back(x);
      } else if (raw) {
        v = raw_values<int64_t>(req.raw_input_contents(i), count, where);
      } else if (i32) {
        check_count(in.contents().int_contents(), count, where, "int_contents");
        v.assign(in.contents().int_contents().begin(), in.contents().int_contents().end());
      } else {
        check_count(in.contents().int64_contents(), count, where, "int64_contents");
        v.assign(in.contents().int64_contents().begin(), in.contents().int64_contents().end());
      }
      for (size_t k = 0; k < v.size(); ++k) {
        if (spec->dtype == DType::i32) {
          if (v[k] < std::numeric_limits<int32_t>::min() || v[k] > std::numeric_limits<int32_t>::max())
            bad(where + ": element " + std::to_string(k) + " (" + std::to_string(v[k]) + ") is out of range");
          t.data_as<int32_t>()[k] = static_cast<int32_t>(v[k]);
        } else {
          t.data_as<int64_t>()[k] = v[k];
        }
      }
    } else {
      std::vector<float> v;
      if (raw) {
        v = raw_values<float>(req.raw_input_contents(i), count, where);
      } else {
        check_count(in.contents().fp32_contents(), count, where, "fp32_contents");
        v.assign(in.contents().fp32_contents().begin(), in.contents().fp32_contents().end());
      }
      if (count) std::memcpy(t.data(), v.data(), v.size() * sizeof(float));
    }
    r.inputs.push_back({in.name(), std::move(t)});
  }
  check_request_inputs(info, r, names);
  for (const auto& o : req.outputs()) {
    check_output_name(info, r.text, o.name());
    r.outputs.push_back(o.name());
  }
  if (req.parameters().count("truncate")) {
    const pb::InferParameter& p = req.parameters().at("truncate");
    if (p.parameter_choice_case() != pb::InferParameter::kBoolParam) bad("parameter 'truncate' must be a bool_param");
    r.parameters = {{"truncate", p.bool_param()}};
  }
  return r;
}

void add_output(pb::ModelInferResponse& res, bool raw, const std::string& name, const Tensor& t) {
  pb::ModelInferResponse::InferOutputTensor* o = res.add_outputs();
  o->set_name(name);
  o->set_datatype(oip_datatype(t.dtype()));
  for (int64_t d : t.dims()) o->add_shape(d);
  const int64_t n = t.numel();
  if (raw) {
    res.add_raw_output_contents(std::string(static_cast<const char*>(t.data()), t.nbytes()));
    return;
  }
  pb::InferTensorContents* c = o->mutable_contents();
  switch (t.dtype()) {
    case DType::f32: c->mutable_fp32_contents()->Add(t.data_as<float>(), t.data_as<float>() + n); break;
    case DType::i64: c->mutable_int64_contents()->Add(t.data_as<int64_t>(), t.data_as<int64_t>() + n); break;
    case DType::i32: c->mutable_int_contents()->Add(t.data_as<int32_t>(), t.data_as<int32_t>() + n); break;
    default: fail_internal("output '", name, "' has dtype ", dtype_name(t.dtype()), ", which the server cannot encode");
  }
}

class Service final : public pb::GRPCInferenceService::Service {
 public:
  Service(const ModelRepository& repo, Metrics& metrics, const Router& router) : repo_(repo), metrics_(metrics), router_(router) {}

  Status ServerLive(ServerContext*, const pb::ServerLiveRequest*, pb::ServerLiveResponse* res) override {
    res->set_live(true);
    return Status::OK;
  }
  Status ServerReady(ServerContext*, const pb::ServerReadyRequest*, pb::ServerReadyResponse* res) override {
    res->set_ready(router_.ready());
    return Status::OK;
  }
  Status ModelReady(ServerContext* ctx, const pb::ModelReadyRequest* req, pb::ModelReadyResponse* res) override {
    return guarded(ctx, [&] {
      model(req->name(), req->version());
      res->set_ready(router_.ready());
    });
  }
  Status ServerMetadata(ServerContext* ctx, const pb::ServerMetadataRequest*, pb::ServerMetadataResponse* res) override {
    return guarded(ctx, [&] {
      res->set_name("kiln");
      res->set_version(kiln::version());
    });
  }
  Status ModelMetadata(ServerContext* ctx, const pb::ModelMetadataRequest* req, pb::ModelMetadataResponse* res) override {
    return guarded(ctx, [&] {
      const ServedModel& m = model(req->name(), req->version());
      res->set_name(m.name);
      for (const std::string& v : repo_.versions(m.name)) res->add_versions(v);
      res->set_platform("kiln");
      auto fill = [](const std::vector<TensorInfo>& specs, auto* out) {
        for (const TensorInfo& t : specs) {
          auto* x = out->Add();
          x->set_name(t.name);
          x->set_datatype(oip_datatype(t.dtype));
          for (int64_t d : t.request) x->add_shape(d);
        }
      };
      fill(m.model->info().inputs, res->mutable_inputs());
      fill(m.model->info().outputs, res->mutable_outputs());
    });
  }
  Status ModelInfer(ServerContext* ctx, const pb::ModelInferRequest* req, pb::ModelInferResponse* res) override {
    const auto start = std::chrono::steady_clock::now();
    const ServedModel* served = nullptr;
    Status s = guarded(ctx, [&] {
      const ServedModel& m = model(req->model_name(), req->model_version());
      served = &m;
      if (!router_.ready()) throw HttpError(503, "the server is shutting down");
      const RouterOptions& o = router_.options();
      InferRequest r = decode(*req, m.model->info(), o.limits);
      InferenceRequest q;
      q.inputs = std::move(r.inputs);
      q.text = r.text;
      q.texts = std::move(r.texts);
      q.pairs = std::move(r.text_pairs);
      q.truncate = r.parameters.is_object() && r.parameters.value("truncate", false);
      const InferenceResult result = run_inference(m, std::move(q), {o.max_client_batch, o.request_timeout_ms});
      res->set_model_name(m.name);
      res->set_model_version(m.version);
      res->set_id(req->id());
      const bool raw = req->raw_input_contents_size() > 0;
      for (const NamedTensor& t : result.outputs)
        if (output_wanted(r.outputs, t.name)) add_output(*res, raw, t.name, t.tensor);
      if (result.classified && output_wanted(r.outputs, "label")) {
        auto* o = res->add_outputs();
        o->set_name("label");
        o->set_datatype("BYTES");
        o->add_shape(static_cast<int64_t>(result.labels.size()));
        if (raw) {
          std::string bytes;
          for (const std::string& l : result.labels) {
            const uint32_t n = static_cast<uint32_t>(l.size());
            for (int b = 0; b < 4; ++b) bytes += static_cast<char>((n >> (8 * b)) & 0xff);
            bytes += l;
          }
          res->add_raw_output_contents(std::move(bytes));
        } else {
          for (const std::string& l : result.labels) o->mutable_contents()->add_bytes_contents(l);
        }
      }
      if (result.classified && output_wanted(r.outputs, "score")) {
        Tensor scores(DType::f32, {static_cast<int64_t>(result.scores.size())});
        for (size_t k = 0; k < result.scores.size(); ++k) scores.data_as<float>()[k] = static_cast<float>(result.scores[k]);
        add_output(*res, raw, "score", scores);
      }
    });
    if (served)
      metrics_.record(served->name, served->version, s.ok(), std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
    return s;
  }

 private:
  template <typename F> Status guarded(ServerContext* ctx, F&& f) {
    try {
      authorize(ctx);
      f();
      return Status::OK;
    } catch (...) {
      return status_of(std::current_exception());
    }
  }
  void authorize(ServerContext* ctx) const {
    const std::string& key = router_.options().api_key;
    if (key.empty()) return;
    const auto& md = ctx->client_metadata();
    auto it = md.find("authorization");
    const std::string given = it == md.end() ? "" : std::string(it->second.data(), it->second.size());
    if (!bearer_matches(given, key))
      throw HttpError(401, given.empty() ? "this server needs an API key: send 'authorization: Bearer <key>' metadata" : "the API key is not valid");
  }
  const ServedModel& model(const std::string& name, const std::string& version) const {
    return resolve_model(repo_, name, version);
  }

  const ModelRepository& repo_;
  Metrics& metrics_;
  const Router& router_;
};

}  // namespace

struct GrpcServer::Impl {
  std::unique_ptr<Service> service;
  std::unique_ptr<grpc::Server> server;
  int port = 0;
};

GrpcServer::GrpcServer(const ModelRepository& repo, Metrics& metrics, const Router& router, const GrpcServerOptions& o)
    : impl_(std::make_unique<Impl>()) {
  if (o.tls_cert.empty() != o.tls_key.empty()) fail("--tls-cert and --tls-key go together: give both or neither");
  std::shared_ptr<grpc::ServerCredentials> creds = grpc::InsecureServerCredentials();
  if (!o.tls_cert.empty()) {
    grpc::SslServerCredentialsOptions ssl;
    ssl.pem_key_cert_pairs.push_back({read_file(o.tls_key, "--tls-key"), read_file(o.tls_cert, "--tls-cert")});
    creds = grpc::SslServerCredentials(ssl);
  }
  impl_->service = std::make_unique<Service>(repo, metrics, router);
  grpc::ServerBuilder b;
  b.AddListeningPort(o.host + ":" + std::to_string(o.port), creds, &impl_->port);
  b.RegisterService(impl_->service.get());
  b.SetMaxReceiveMessageSize(static_cast<int>(std::min<size_t>(o.max_message_bytes, std::numeric_limits<int>::max())));
  b.SetMaxSendMessageSize(std::numeric_limits<int>::max());
  // One port, one process: refuse a port another server holds (gRPC would otherwise share it).
  b.AddChannelArgument(GRPC_ARG_ALLOW_REUSEPORT, 0);
  impl_->server = b.BuildAndStart();
  if (!impl_->server || impl_->port == 0)
    fail("cannot listen for gRPC on ", o.host, ":", o.port, " (in use, or not an address of this machine)");
}

GrpcServer::~GrpcServer() {
  if (impl_->server) impl_->server->Shutdown(std::chrono::system_clock::now());
}

void GrpcServer::shutdown(double grace_s) {
  impl_->server->Shutdown(std::chrono::system_clock::now() + std::chrono::milliseconds(static_cast<int64_t>(grace_s * 1000)));
}

int GrpcServer::port() const { return impl_->port; }

}  // namespace kiln::server
