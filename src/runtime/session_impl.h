// Session::Impl: a loaded artifact bound to its arena and kernels. Internal to the runtime: session.cc
// runs it whole; the Engine (engine.cc) runs its pieces (load_inputs, run_steps over a stage's range,
// store_outputs) for pipelines.
#pragma once

#include <omp.h>
#include <pthread.h>
#include <sched.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <map>
#include <mutex>
#include <set>

#include "artifact/artifact.h"
#include "kernels/kernel.h"
#include "kiln/error.h"
#include "kiln/model.h"
#include "kiln/session.h"
#include "kiln/topology.h"
#include "ops/op_schema.h"
#include "runtime/step_check.h"
#include "plan/cost.h"
#include "util/aligned.h"

namespace kiln {
namespace runtime {

// One plan step bound to its kernel, its tensors' addresses and its prepared state.
struct BoundStep {
  const kernels::KernelEntry* kernel;
  const plan::PlanStep* step;
  kernels::KernelContext ctx;
  std::shared_ptr<void> state;
};

}  // namespace runtime

struct Session::Impl {
  SessionOptions options;
  size_t bucket = 0;  // which of the artifact's plans (sequence buckets) this session runs
  int threads = 1;
  std::vector<int> cpus;  // the CPUs the threads are pinned to, in order
  std::vector<double> step_ms, last_start_ms, last_ms;
  int profiled = 0;
  std::shared_ptr<const Model> model;      // shared with every other session and engine on it
  const artifact::MappedArtifact* art;     // model's mapping
  std::shared_ptr<void> arena;
  std::vector<void*> address;  // per plan tensor
  std::vector<runtime::BoundStep> steps;
  std::vector<TensorSpec> inputs, outputs;
  std::string compiled_with;  // "batch 3, seq 37", for error messages
  std::vector<const Tensor*> matched;  // reused by every run
  mutable std::mutex mu;

  Impl(std::shared_ptr<const Model> m, const SessionOptions& opts)
      : options(opts), model(std::move(m)), art(&model->mapped()) {
    const std::string& path = model->info().path;
    if (options.threads < 0) fail("threads must be >= 0, got ", options.threads);
    if (options.seq_bucket < 0 || static_cast<size_t>(options.seq_bucket) >= art->plan_count())
      fail("artifact '", path, "' has ", art->plan_count(), " sequence bucket(s); bucket ", options.seq_bucket, " does not exist");
    bucket = static_cast<size_t>(options.seq_bucket);
    const std::vector<int>& allowed = allowed_cpus();
    for (int c : options.cpus)
      if (std::find(allowed.begin(), allowed.end(), c) == allowed.end())
        fail("core ", c, " does not exist or is not available (this process may use cores ", core_group_text(allowed), ")");
    cpus = options.cpus.empty() ? allowed : options.cpus;
    threads = options.threads ? options.threads : static_cast<int>(cpus.size());
    const plan::Plan& plan = art->plan(bucket);
    arena = allocate_aligned(plan::align_up(plan.arena_bytes) + 64, "a ", plan.arena_bytes, "-byte activation arena");
    void* mem = arena.get();

    for (const plan::PlanTensor& t : plan.tensors) {
      // Kernels write by dims: a plan whose byte counts disagree with them is refused, not trusted.
      for (int64_t d : t.dims)
        if (d < 0) fail("artifact '", path, "' is damaged: tensor '", t.name, "' has a negative dim");
      if (t.bytes != static_cast<uint64_t>(num_elements(t.dims)) * dtype_size(t.dtype))
        fail("artifact '", path, "' is damaged: tensor '", t.name, "' has ", t.bytes, " bytes for ",
             dtype_name(t.dtype), dims_to_string(t.dims));
      if (t.kind == plan::TensorKind::constant) {
        address.push_back(const_cast<uint8_t*>(art->weights()) + t.offset);
      } else {
        if (t.offset > plan.arena_bytes || t.bytes > plan.arena_bytes - t.offset) fail("artifact '", path, "' is damaged: tensor '", t.name, "' lies outside the arena");
        address.push_back(static_cast<uint8_t*>(mem) + t.offset);
      }
    }
    auto arg = [&](int id) -> kernels::TensorArg {
      if (id < 0) return {};
      const plan::PlanTensor& t = plan.tensors[id];
      return {t.dtype, t.dims, address[id]};
    };
    // oneDNN primitives made by `prepare` fix their thread count when created: set it first.
    omp_set_num_threads(threads);
    for (const plan::PlanStep& s : plan.steps) {
      const ops::OpSchema* schema = ops::find_schema(s.op);
      const int ni = static_cast<int>(s.inputs.size()), no = static_cast<int>(s.outputs.size());
      if (!schema || ni < schema->min_inputs || ni > schema->max_inputs || no < schema->min_outputs || no > schema->max_outputs)
        fail("artifact '", path, "' is damaged: step '", s.name, "' (", s.op, ") does not fit the op's schema");
      runtime::check_step(plan, s, art->weights(), path);
      const kernels::KernelEntry* k = kernels::select_kernel(s.op, s.dtype);
      if (!k) fail("artifact '", path, "' needs a kernel for ", s.op, " on ", dtype_name(s.dtype), " (node '", s.name, "'), which this kiln does not have");
      runtime::BoundStep b{k, &s, kernels::KernelContext{s.attrs, {}, {}}, nullptr};
      for (int in : s.inputs) b.ctx.inputs.push_back(arg(in));
      for (int out : s.outputs) b.ctx.outputs.push_back(arg(out));
      if (k->prepare) {
        try {
          b.state = k->prepare(b.ctx);
        } catch (const Error& e) {
          rethrow_with_context(e, "preparing node '", s.name, "' (", s.op, "): ");
        }
        b.ctx.state = b.state.get();
      }
      steps.push_back(std::move(b));
    }
    for (int id : plan.inputs) inputs.push_back({plan.tensors[id].name, plan.tensors[id].dtype, plan.tensors[id].dims});
    for (int id : plan.outputs) outputs.push_back({plan.tensors[id].name, plan.tensors[id].dtype, plan.tensors[id].dims});
    const ModelInfo& info = model->info();
    compiled_with = str("batch ", info.batch);
    if (bucket < info.seq_buckets.size() && info.seq_buckets[bucket] > 0) compiled_with += str(", seq ", info.seq_buckets[bucket]);
    step_ms.assign(steps.size(), 0.0);
    last_start_ms.assign(steps.size(), 0.0);
    last_ms.assign(steps.size(), 0.0);
  }

  // OpenMP's thread count is a per-calling-thread setting: apply it on whichever thread calls run().
  // Pinning binds the team's threads (reused by libgomp for this caller) to this session's CPUs; each
  // calling thread has its own team, so replicas on different threads keep to their own core groups.
  void prepare_threads(const std::vector<int>& on) {
    omp_set_num_threads(threads);
    // The calling thread's team is reused across sessions: pin it again when a session wants other
    // CPUs, or more threads than have been pinned so far.
    thread_local std::vector<int> pinned;
    if (!options.pin_threads) return;
    bool same = pinned.size() >= static_cast<size_t>(threads);
    for (int i = 0; same && i < threads; ++i) same = pinned[i] == on[i % on.size()];
    if (same) return;  // the steady state: no allocation
    pinned.resize(threads);
    for (int i = 0; i < threads; ++i) pinned[i] = on[i % on.size()];
    const std::vector<int>& want = pinned;
#pragma omp parallel num_threads(threads)
    {
      cpu_set_t set;
      CPU_ZERO(&set);
      CPU_SET(want[omp_get_thread_num()], &set);
      pthread_setaffinity_np(pthread_self(), sizeof set, &set);
    }
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

  // Matches the given tensors to the model inputs by name; allocation-free on valid input.
  void match_inputs(const std::vector<NamedTensor>& given, std::vector<const Tensor*>& by_index) const {
    by_index.assign(inputs.size(), nullptr);
    for (const NamedTensor& nt : given) {
      size_t k = 0;
      while (k < inputs.size() && inputs[k].name != nt.name) ++k;
      if (k == inputs.size()) {
        std::string names;
        for (const TensorSpec& s : inputs) names += (names.empty() ? "" : ", ") + s.name;
        fail("the model has no input named '", nt.name, "' (its inputs: ", names, ")");
      }
      if (by_index[k]) fail("input '", nt.name, "' is given more than once");
      by_index[k] = &nt.tensor;
    }
    std::string missing;
    for (size_t k = 0; k < inputs.size(); ++k)
      if (!by_index[k]) missing += (missing.empty() ? "" : ", ") + inputs[k].name;
    if (!missing.empty()) fail("missing model input(s): ", missing);
  }

  void run_into(const std::vector<NamedTensor>& given, std::vector<NamedTensor>& out) {
    std::lock_guard<std::mutex> lock(mu);
    load_inputs(given);
    run_steps(0, steps.size(), cpus);
    store_outputs(out);
  }

  // The pieces of a run, for the pipeline (Engine), which calls them under its own discipline: one
  // request per session at a time, its stages on different threads one after another.
  void load_inputs(const std::vector<NamedTensor>& given) {
    const plan::Plan& plan = art->plan(bucket);
    match_inputs(given, matched);
    for (size_t i = 0; i < inputs.size(); ++i) load_input(inputs[i], plan.inputs[i], *matched[i]);
  }

  // Steps [first, last) on the calling thread's OpenMP team, pinned to `on` (this session's CPUs, or a
  // pipeline stage's core group of the same size).
  void run_steps(size_t first, size_t last, const std::vector<int>& on) {
    prepare_threads(on);
    using clock = std::chrono::steady_clock;
    const clock::time_point run_start = clock::now();
    for (size_t i = first; i < last; ++i) {
      const runtime::BoundStep& b = steps[i];
      const clock::time_point t0 = options.profile ? clock::now() : clock::time_point{};
      try {
        b.kernel->fn(b.ctx);
      } catch (const Error& e) {
        rethrow_with_context(e, "step ", i, ", node '", b.step->name, "' (", b.step->op, "): ");
      }
      if (options.profile) {
        const double ms = std::chrono::duration<double, std::milli>(clock::now() - t0).count();
        step_ms[i] += ms;
        last_ms[i] = ms;
        last_start_ms[i] = std::chrono::duration<double, std::milli>(t0 - run_start).count();
      }
    }
    if (options.profile && last == steps.size()) ++profiled;
  }

  void store_outputs(std::vector<NamedTensor>& out) {
    const plan::Plan& plan = art->plan(bucket);
    // Reuse the caller's output tensors when they already fit; allocate only when they do not.
    bool reusable = out.size() == outputs.size();
    for (size_t i = 0; reusable && i < outputs.size(); ++i)
      reusable = out[i].name == outputs[i].name && out[i].tensor.dtype() == outputs[i].dtype &&
                 out[i].tensor.dims() == outputs[i].dims && !out[i].tensor.empty();
    if (!reusable) {
      out.clear();
      for (const TensorSpec& spec : outputs) out.push_back({spec.name, Tensor(spec.dtype, spec.dims)});
    }
    for (size_t i = 0; i < outputs.size(); ++i)
      std::memcpy(out[i].tensor.data(), address[plan.outputs[i]], out[i].tensor.nbytes());
  }
};

}  // namespace kiln
