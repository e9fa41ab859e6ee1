#include "kiln/session.h"

#include <cstdlib>
#include <cstring>
#include <map>
#include <mutex>
#include <set>

#include "artifact/artifact.h"
#include "kernels/kernel.h"
#include "kiln/error.h"

namespace kiln {
namespace {

struct BoundStep {
  const kernels::KernelEntry* kernel;
  const planner::PlanStep* step;
  kernels::KernelContext ctx;
};

}  // namespace

struct Session::Impl {
  std::unique_ptr<artifact::MappedArtifact> art;
  std::shared_ptr<void> arena;
  std::vector<void*> address;  // per plan tensor
  std::vector<BoundStep> steps;
  std::vector<TensorSpec> inputs, outputs;
  std::string compiled_with;  // "--batch 3 --seq 37", for error messages
  std::mutex mu;

  explicit Impl(const std::string& path) : art(std::make_unique<artifact::MappedArtifact>(path)) {
    const planner::Plan& plan = art->plan();
    void* mem = std::aligned_alloc(64, planner::align_up(plan.arena_bytes) + 64);
    if (!mem) fail("out of memory allocating a ", plan.arena_bytes, "-byte activation arena");
    arena = std::shared_ptr<void>(mem, [](void* p) { std::free(p); });

    for (const planner::PlanTensor& t : plan.tensors) {
      if (t.kind == planner::TensorKind::constant) {
        address.push_back(const_cast<uint8_t*>(art->weights()) + t.offset);
      } else {
        if (t.offset + t.bytes > plan.arena_bytes) fail("artifact '", path, "' is damaged: tensor '", t.name, "' lies outside the arena");
        address.push_back(static_cast<uint8_t*>(mem) + t.offset);
      }
    }
    auto arg = [&](int id) -> kernels::TensorArg {
      if (id < 0) return {};
      const planner::PlanTensor& t = plan.tensors[id];
      return {t.dtype, t.dims, address[id]};
    };
    for (const planner::PlanStep& s : plan.steps) {
      const kernels::KernelEntry* k = kernels::select_kernel(s.op, s.dtype);
      if (!k) fail("artifact '", path, "' needs a kernel for ", s.op, " on ", dtype_name(s.dtype), " (node '", s.name, "'), which this kiln does not have");
      BoundStep b{k, &s, kernels::KernelContext{s.attrs, {}, {}}};
      for (int in : s.inputs) b.ctx.inputs.push_back(arg(in));
      for (int out : s.outputs) b.ctx.outputs.push_back(arg(out));
      steps.push_back(std::move(b));
    }
    for (int id : plan.inputs) inputs.push_back({plan.tensors[id].name, plan.tensors[id].dtype, plan.tensors[id].dims});
    for (int id : plan.outputs) outputs.push_back({plan.tensors[id].name, plan.tensors[id].dtype, plan.tensors[id].dims});
    const auto& opts = art->meta().at("options");
    compiled_with = str("--batch ", opts.value("batch", 0), " --seq ", opts.value("seq", 0));
  }

  void load_input(const TensorSpec& spec, int id, const Tensor& given) {
    if (given.dims() != spec.dims)
      fail("input '", spec.name, "' has shape ", dims_to_string(given.dims()), ", expected ", dims_to_string(spec.dims),
           " (the model was compiled with ", compiled_with, ")");
    void* dst = address[id];
    if (given.dtype() == spec.dtype) {
      std::memcpy(dst, given.data(), given.nbytes());
    } else if (spec.dtype == DType::i64 && given.dtype() == DType::i32) {
      for (int64_t i = 0; i < given.numel(); ++i) static_cast<int64_t*>(dst)[i] = given.data_as<int32_t>()[i];
    } else {
      fail("input '", spec.name, "' has dtype ", dtype_name(given.dtype()), ", expected ", dtype_name(spec.dtype),
           spec.dtype == DType::i64 ? " (or i32)" : "");
    }
  }

  std::vector<NamedTensor> run(const std::vector<NamedTensor>& given) {
    const planner::Plan& plan = art->plan();
    std::map<std::string, const Tensor*> by_name;
    for (const NamedTensor& nt : given) {
      bool known = false;
      for (const TensorSpec& s : inputs) known |= s.name == nt.name;
      if (!known) {
        std::string names;
        for (const TensorSpec& s : inputs) names += (names.empty() ? "" : ", ") + s.name;
        fail("the model has no input named '", nt.name, "' (its inputs: ", names, ")");
      }
      if (!by_name.emplace(nt.name, &nt.tensor).second) fail("input '", nt.name, "' is given more than once");
    }
    std::string missing;
    for (const TensorSpec& s : inputs)
      if (!by_name.count(s.name)) missing += (missing.empty() ? "" : ", ") + s.name;
    if (!missing.empty()) fail("missing model input(s): ", missing);

    std::lock_guard<std::mutex> lock(mu);
    for (size_t i = 0; i < inputs.size(); ++i) load_input(inputs[i], plan.inputs[i], *by_name[inputs[i].name]);
    for (size_t i = 0; i < steps.size(); ++i) {
      const BoundStep& b = steps[i];
      try {
        b.kernel->fn(b.ctx);
      } catch (const Error& e) {
        fail("step ", i, ", node '", b.step->name, "' (", b.step->op, "): ", e.what());
      }
    }
    std::vector<NamedTensor> out;
    for (size_t i = 0; i < outputs.size(); ++i) {
      Tensor t(outputs[i].dtype, outputs[i].dims);
      std::memcpy(t.data(), address[plan.outputs[i]], t.nbytes());
      out.push_back({outputs[i].name, std::move(t)});
    }
    return out;
  }
};

Session::Session(const std::string& artifact_path) : impl_(std::make_unique<Impl>(artifact_path)) {}
Session::~Session() = default;
Session::Session(Session&&) noexcept = default;
Session& Session::operator=(Session&&) noexcept = default;

const std::vector<TensorSpec>& Session::inputs() const { return impl_->inputs; }
const std::vector<TensorSpec>& Session::outputs() const { return impl_->outputs; }

std::vector<NamedTensor> Session::run(const std::vector<NamedTensor>& inputs) { return impl_->run(inputs); }

}  // namespace kiln
