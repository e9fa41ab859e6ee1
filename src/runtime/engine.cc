// The serving runtime (kiln/engine.h): lanes of sessions on core groups, fed by one bounded queue.
//
// A lane is one replica. It has one session per slot and one thread per pipeline stage:
//   stage 0   takes requests from the queue (merging them up to max_batch rows, waiting up to the queue
//             delay), cuts their rows into calls of the compiled batch ("jobs"), takes a free slot for
//             each, loads the inputs and runs the first range of steps;
//   stage s   runs the next range of steps of whichever slot the previous stage hands it;
//   the last  also copies the outputs into the requests and frees the slot.
// Without a pipeline a lane has one stage and one slot. With S stages it has S + 1 slots (each a full
// session with its own arena and kernel state, sharing the mapped weights), so every stage can work on
// a different call while one more waits to enter. A slot's steps always run one stage after another, so
// a session is never used by two threads at once.
#include "kiln/engine.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstring>
#include <deque>
#include <mutex>
#include <thread>

#include <nlohmann/json.hpp>

#include "artifact/artifact.h"
#include "planner/stages.h"

// Session::Impl's run pieces (load_inputs, run_steps, store_outputs) are defined in session.cc.
#include "runtime/session_impl.h"

namespace kiln {
namespace {

struct Request {
  std::vector<Tensor> inputs;  // in the model's input order
  int64_t rows = 0;
  std::promise<std::vector<NamedTensor>> done;
  std::vector<NamedTensor> results;  // filled row by row by the lane's last stage
  int64_t remaining = 0;             // rows not yet answered (touched by one lane's last stage only)
  bool failed = false;
};

// One call of the compiled batch: which request rows go into which batch rows.
struct Job {
  struct Piece {
    std::shared_ptr<Request> req;
    int64_t req_row, slot_row, rows;
  };
  std::vector<Piece> pieces;
  int64_t used = 0;  // batch rows holding real request rows
};

// A small blocking FIFO of slot indices between stages; -1 ends the stream.
class SlotQueue {
 public:
  void push(int v) {
    {
      std::lock_guard<std::mutex> lock(mu_);
      q_.push_back(v);
    }
    cv_.notify_one();
  }
  int pop() {
    std::unique_lock<std::mutex> lock(mu_);
    cv_.wait(lock, [&] { return !q_.empty(); });
    int v = q_.front();
    q_.pop_front();
    return v;
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<int> q_;
};

// Copies `rows` rows of `from` (from row `from_row`) into `to` (at `to_row`); i32 -> i64 widened.
void copy_rows(const Tensor& from, int64_t from_row, Tensor& to, int64_t to_row, int64_t rows) {
  const int64_t per_row = to.dims().empty() || to.dims()[0] == 0 ? to.numel() : to.numel() / to.dims()[0];
  if (from.dtype() == to.dtype()) {
    const size_t row_bytes = static_cast<size_t>(per_row) * dtype_size(to.dtype());
    std::memcpy(static_cast<char*>(to.data()) + to_row * row_bytes, static_cast<const char*>(from.data()) + from_row * row_bytes,
                rows * row_bytes);
    return;
  }
  const int32_t* src = from.data_as<int32_t>() + from_row * per_row;  // i32 given for i64 (validated)
  int64_t* dst = to.data_as<int64_t>() + to_row * per_row;
  for (int64_t i = 0; i < rows * per_row; ++i) dst[i] = src[i];
}

Tensor copy_of(const Tensor& t) {
  Tensor c(t.dtype(), t.dims());
  if (t.nbytes()) std::memcpy(c.data(), t.data(), t.nbytes());
  return c;
}

}  // namespace

struct Engine::Impl {
  struct Slot {
    std::unique_ptr<Session> session;
    std::vector<NamedTensor> in, out;
    Job job;
  };
  struct Lane {
    CoreGroups groups;  // one per stage
    std::vector<Slot> slots;
    SlotQueue free;
    std::vector<std::unique_ptr<SlotQueue>> to_stage;  // to_stage[s]: slots ready for stage s (s >= 1)
    std::vector<std::thread> threads;
  };

  EngineOptions options;
  std::vector<std::unique_ptr<Lane>> lanes;
  std::vector<TensorSpec> in_specs, out_specs;
  std::string meta;
  planner::Stages stages;
  int64_t batch = 1;
  int max_batch = 1;
  bool batchable = true;  // every input and output has the batch on axis 0

  mutable std::mutex mu;
  std::condition_variable arrived;
  std::deque<std::shared_ptr<Request>> queue;
  bool stopping = false;
  Stats stats;

  Impl(const std::string& path, const EngineOptions& o) : options(o) {
    if (options.instances < 1) fail("--instances must be at least 1, got ", options.instances);
    if (options.queue_capacity < 1) fail("the queue capacity must be at least 1");
    if (options.max_queue_delay_us < 0) fail("the max queue delay must be >= 0 us, got ", options.max_queue_delay_us);
    int S = options.pipeline_stages;
    {
      artifact::MappedArtifact art(path);
      if (S == 0) S = art.meta().contains("pipeline") ? art.meta()["pipeline"].value("stages", 1) : 1;
      stages = planner::cut_stages(art.plan(), S);
    }
    const int groups_needed = options.instances * S;
    if (options.core_groups.empty()) options.core_groups = split_core_groups(groups_needed);
    if (static_cast<int>(options.core_groups.size()) != groups_needed)
      fail(options.core_groups.size(), " core groups for ", options.instances, " instance(s) of ", S,
           " pipeline stage(s): give ", groups_needed);
    for (const CoreGroup& g : options.core_groups)
      if (S > 1 && g.size() != options.core_groups[0].size())
        fail("pipeline stages need core groups of equal size, got ", core_group_text(options.core_groups[0]), " and ", core_group_text(g));
    for (int r = 0; r < options.instances; ++r) {
      auto lane = std::make_unique<Lane>();
      lane->groups.assign(options.core_groups.begin() + r * S, options.core_groups.begin() + (r + 1) * S);
      for (int k = 0; k < (S > 1 ? S + 1 : 1); ++k) {
        SessionOptions so;
        so.cpus = lane->groups[0];
        so.pin_threads = options.pin_threads;
        Slot slot;
        slot.session = std::make_unique<Session>(path, so);
        for (const TensorSpec& s : slot.session->inputs()) slot.in.push_back({s.name, Tensor(s.dtype, s.dims)});
        lane->slots.push_back(std::move(slot));
        lane->free.push(k);
      }
      for (int s = 0; s < S; ++s) lane->to_stage.push_back(std::make_unique<SlotQueue>());
      lanes.push_back(std::move(lane));
    }
    Session& first = *lanes[0]->slots[0].session;
    in_specs = first.inputs();
    out_specs = first.outputs();
    meta = first.metadata_json();
    batch = in_specs.empty() || in_specs[0].dims.empty() ? 1 : in_specs[0].dims[0];
    for (const auto* specs : {&in_specs, &out_specs})
      for (const TensorSpec& s : *specs) batchable = batchable && !s.dims.empty() && s.dims[0] == batch;
    max_batch = options.max_batch ? options.max_batch : static_cast<int>(batch);
    if (max_batch < 1 || max_batch > batch) fail("max batch ", max_batch, " must be between 1 and the compiled batch ", batch);
    for (auto& lane : lanes) {
      Lane* l = lane.get();
      l->threads.emplace_back([this, l] { intake(*l); });
      for (int s = 1; s < S; ++s) l->threads.emplace_back([this, l, s] { stage_loop(*l, s); });
    }
  }

  ~Impl() {
    {
      std::lock_guard<std::mutex> lock(mu);
      stopping = true;
    }
    arrived.notify_all();
    for (auto& lane : lanes)
      for (std::thread& t : lane->threads) t.join();
  }

  int stage_count() const { return static_cast<int>(stages.costs.size()); }

  // "[rows,128] with rows >= 1": what a request may look like.
  std::string shape_text(const Dims& compiled) const {
    if (!batchable) return dims_to_string(compiled);
    std::string s = "[rows";
    for (size_t i = 1; i < compiled.size(); ++i) s += "," + std::to_string(compiled[i]);
    return s + "] with rows >= 1";
  }

  // Checks a request against the compiled specs and puts its inputs in model order.
  std::shared_ptr<Request> validate(std::vector<NamedTensor>& given) const {
    auto req = std::make_shared<Request>();
    req->inputs.resize(in_specs.size());
    std::vector<bool> seen(in_specs.size(), false);
    for (NamedTensor& nt : given) {
      size_t k = 0;
      while (k < in_specs.size() && in_specs[k].name != nt.name) ++k;
      if (k == in_specs.size()) {
        std::string names;
        for (const TensorSpec& s : in_specs) names += (names.empty() ? "" : ", ") + s.name;
        fail("the model has no input named '", nt.name, "' (its inputs: ", names, ")");
      }
      if (seen[k]) fail("input '", nt.name, "' is given more than once");
      seen[k] = true;
      const TensorSpec& spec = in_specs[k];
      const Tensor& t = nt.tensor;
      if (t.dtype() != spec.dtype && !(spec.dtype == DType::i64 && t.dtype() == DType::i32))
        fail("input '", spec.name, "' has dtype ", dtype_name(t.dtype()), ", expected ", dtype_name(spec.dtype),
             spec.dtype == DType::i64 ? " (or i32)" : "");
      Dims want = spec.dims;
      if (batchable && !t.dims().empty()) want[0] = t.dims()[0];
      if (t.dims() != want || (batchable && t.dims()[0] < 1))
        fail("input '", spec.name, "' has shape ", dims_to_string(t.dims()), ", expected ", shape_text(spec.dims));
      if (batchable && req->rows && t.dims()[0] != req->rows)
        fail("inputs have different row counts: '", spec.name, "' has ", t.dims()[0], ", the others ", req->rows);
      if (batchable) req->rows = t.dims()[0];
      req->inputs[k] = std::move(nt.tensor);
    }
    std::string missing;
    for (size_t k = 0; k < in_specs.size(); ++k)
      if (!seen[k]) missing += (missing.empty() ? "" : ", ") + in_specs[k].name;
    if (!missing.empty()) fail("missing model input(s): ", missing);
    if (!batchable) req->rows = batch;
    req->remaining = req->rows;
    for (const TensorSpec& s : out_specs) {
      Dims d = s.dims;
      if (batchable) d[0] = req->rows;
      req->results.push_back({s.name, Tensor(s.dtype, d)});
    }
    return req;
  }

  std::future<std::vector<NamedTensor>> submit(std::vector<NamedTensor> given) {
    std::shared_ptr<Request> req = validate(given);
    std::future<std::vector<NamedTensor>> f = req->done.get_future();
    {
      std::lock_guard<std::mutex> lock(mu);
      if (queue.size() >= options.queue_capacity) {
        ++stats.rejected;
        throw QueueFullError(str("the request queue is full (", options.queue_capacity,
                                 " pending requests): retry later or raise the queue capacity"));
      }
      ++stats.requests;
      queue.push_back(std::move(req));
    }
    arrived.notify_one();
    return f;
  }

  // Stage 0 of a lane: batches requests from the queue into jobs and starts them.
  void intake(Lane& lane) {
    using clock = std::chrono::steady_clock;
    for (;;) {
      std::vector<std::shared_ptr<Request>> group;
      {
        std::unique_lock<std::mutex> lock(mu);
        arrived.wait(lock, [&] { return stopping || !queue.empty(); });
        if (queue.empty()) break;  // stopping, and nothing left
        int64_t rows = queue.front()->rows;
        group.push_back(std::move(queue.front()));
        queue.pop_front();
        const clock::time_point deadline = clock::now() + std::chrono::microseconds(options.max_queue_delay_us);
        while (batchable && rows < max_batch) {
          if (!queue.empty()) {
            if (rows + queue.front()->rows > max_batch) break;
            rows += queue.front()->rows;
            group.push_back(std::move(queue.front()));
            queue.pop_front();
            continue;
          }
          if (stopping || options.max_queue_delay_us == 0) break;
          if (!arrived.wait_until(lock, deadline, [&] { return stopping || !queue.empty(); })) break;
        }
      }
      // Cut the group's rows into jobs of at most `batch` rows each.
      Job job;
      for (const std::shared_ptr<Request>& req : group) {
        for (int64_t r = 0; r < req->rows;) {
          const int64_t take = batchable ? std::min(req->rows - r, batch - job.used) : batch;
          job.pieces.push_back({req, r, job.used, take});
          job.used += take;
          r += take;
          if (job.used == batch) start(lane, std::move(job)), job = Job{};
        }
      }
      if (job.used) start(lane, std::move(job));
    }
    if (stage_count() > 1) lane.to_stage[1]->push(-1);
  }

  // Fills a free slot with the job's rows (unused rows repeat the last real one) and runs stage 0.
  void start(Lane& lane, Job job) {
    const int k = lane.free.pop();
    Slot& slot = lane.slots[k];
    slot.job = std::move(job);
    bool ok = true;
    try {
      for (size_t i = 0; i < slot.in.size(); ++i) {
        for (const Job::Piece& p : slot.job.pieces) copy_rows(p.req->inputs[i], p.req_row, slot.in[i].tensor, p.slot_row, p.rows);
        if (batchable && slot.job.used > 0)
          for (int64_t r = slot.job.used; r < batch; ++r) copy_rows(slot.in[i].tensor, slot.job.used - 1, slot.in[i].tensor, r, 1);
      }
      slot.session->impl_->load_inputs(slot.in);
      slot.session->impl_->run_steps(stages.bounds[0], stages.bounds[1], lane.groups[0]);
    } catch (...) {
      fail_job(slot, std::current_exception());
      ok = false;
    }
    if (!ok) return lane.free.push(k);
    if (stage_count() == 1) return finish(lane, k);
    lane.to_stage[1]->push(k);
  }

  // Stage s >= 1 of a lane.
  void stage_loop(Lane& lane, int s) {
    for (;;) {
      const int k = lane.to_stage[s]->pop();
      if (k < 0) {
        if (s + 1 < stage_count()) lane.to_stage[s + 1]->push(-1);
        return;
      }
      Slot& slot = lane.slots[k];
      try {
        if (!slot.job.pieces.empty())
          slot.session->impl_->run_steps(stages.bounds[s], stages.bounds[s + 1], lane.groups[s]);
      } catch (...) {
        fail_job(slot, std::current_exception());
      }
      if (s + 1 < stage_count()) lane.to_stage[s + 1]->push(k);
      else finish(lane, k);
    }
  }

  // Last stage: outputs into the requests; a request complete with this job is answered.
  void finish(Lane& lane, int k) {
    Slot& slot = lane.slots[k];
    try {
      if (!slot.job.pieces.empty()) {
        slot.session->impl_->store_outputs(slot.out);
        for (const Job::Piece& p : slot.job.pieces)
          for (size_t o = 0; o < slot.out.size(); ++o)
            copy_rows(slot.out[o].tensor, batchable ? p.slot_row : 0, p.req->results[o].tensor, batchable ? p.req_row : 0,
                      batchable ? p.rows : batch);
        {
          std::lock_guard<std::mutex> lock(mu);
          ++stats.calls;
          for (const Job::Piece& p : slot.job.pieces) stats.rows += p.rows;
        }
        for (const Job::Piece& p : slot.job.pieces) {
          p.req->remaining -= batchable ? p.rows : p.req->rows;
          if (p.req->remaining == 0 && !p.req->failed) p.req->done.set_value(std::move(p.req->results));
        }
      }
    } catch (...) {
      fail_job(slot, std::current_exception());
    }
    slot.job = Job{};
    lane.free.push(k);
  }

  void fail_job(Slot& slot, std::exception_ptr e) {
    for (const Job::Piece& p : slot.job.pieces)
      if (!p.req->failed) {
        p.req->failed = true;
        p.req->done.set_exception(e);
      }
    slot.job.pieces.clear();
  }
};

Engine::Engine(const std::string& artifact_path, const EngineOptions& options)
    : impl_(std::make_unique<Impl>(artifact_path, options)) {}
Engine::~Engine() = default;

std::future<std::vector<NamedTensor>> Engine::submit(std::vector<NamedTensor> inputs) {
  return impl_->submit(std::move(inputs));
}

std::vector<NamedTensor> Engine::run(const std::vector<NamedTensor>& inputs) {
  // The request owns its tensors until it is answered: run() copies them in (submit() takes them).
  std::vector<NamedTensor> copy;
  for (const NamedTensor& nt : inputs) copy.push_back({nt.name, copy_of(nt.tensor)});
  return impl_->submit(std::move(copy)).get();
}

const std::vector<TensorSpec>& Engine::inputs() const { return impl_->in_specs; }
const std::vector<TensorSpec>& Engine::outputs() const { return impl_->out_specs; }
int64_t Engine::compiled_batch() const { return impl_->batch; }
int Engine::max_batch() const { return impl_->max_batch; }
int Engine::pipeline_stages() const { return impl_->stage_count(); }
const std::vector<double>& Engine::stage_costs() const { return impl_->stages.costs; }
const CoreGroups& Engine::core_groups() const { return impl_->options.core_groups; }
const std::string& Engine::metadata_json() const { return impl_->meta; }

Engine::Stats Engine::stats() const {
  std::lock_guard<std::mutex> lock(impl_->mu);
  return impl_->stats;
}

}  // namespace kiln
