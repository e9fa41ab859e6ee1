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
#include "kiln/model.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstring>
#include <deque>
#include <future>
#include <map>
#include <mutex>
#include <thread>


#include "artifact/artifact.h"
#include "plan/stages.h"

// Session::Impl's run pieces (load_inputs, run_steps, store_outputs) are defined in session.cc.
#include "runtime/session_impl.h"

namespace kiln {
namespace {

struct Request {
  std::vector<Tensor> inputs;  // in the model's input order
  int64_t rows = 0;    // its rows (1 for a model without a batch axis: the request is one call)
  size_t bucket = 0;   // the sequence bucket it runs in
  int64_t seq = 0;     // its own sequence length (<= the bucket's); 0 for models without one
  std::promise<std::vector<NamedTensor>> done;
  std::vector<NamedTensor> results;  // filled row by row by the lane's last stage
  // Rows not yet computed, and whether the promise has been set. A request's jobs all run in one lane,
  // but a pipeline's first stage (a failed load) and last stage (results) may touch it at once: atomics,
  // and whoever flips `answered` first sets the promise.
  std::atomic<int64_t> remaining{0};
  std::atomic<bool> answered{false};
  std::chrono::steady_clock::time_point submitted;  // for the queue and end-to-end times
};

// One call of the compiled batch: which request rows go into which batch rows.
struct Job {
  size_t bucket = 0;
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

// Row copies between a request's tensors and a call's. Rows are along axis 0; every copy checks that it
// stays inside both tensors (a mismatch is a Kiln bug, reported, never a write past the end).
int64_t per_row(const Tensor& t) {
  KILN_CHECK(!t.dims().empty() && t.dims()[0] > 0, "a row copy needs a tensor with rows, got ", dims_to_string(t.dims()));
  return t.numel() / t.dims()[0];
}

// Copies `count` elements from `src` (element offset `from`) to `dst` (offset `to`); i32 -> i64 widened.
void copy_elements(const Tensor& src, int64_t from, Tensor& dst, int64_t to, int64_t count) {
  KILN_CHECK(from >= 0 && to >= 0 && count >= 0 && from + count <= src.numel() && to + count <= dst.numel(),
             "copy of ", count, " elements from ", from, " of ", src.numel(), " to ", to, " of ", dst.numel());
  if (src.dtype() == dst.dtype()) {
    const size_t es = dtype_size(dst.dtype());
    std::memcpy(static_cast<char*>(dst.data()) + to * es, static_cast<const char*>(src.data()) + from * es, count * es);
    return;
  }
  KILN_CHECK(src.dtype() == DType::i32 && dst.dtype() == DType::i64, "copy from ", dtype_name(src.dtype()), " to ",
             dtype_name(dst.dtype()));
  const int32_t* s = src.data_as<int32_t>() + from;
  int64_t* d = dst.data_as<int64_t>() + to;
  for (int64_t i = 0; i < count; ++i) d[i] = s[i];
}

// Rows [from_row, from_row + rows) of `from` into `to` from row `to_row`.
void copy_rows(const Tensor& from, int64_t from_row, Tensor& to, int64_t to_row, int64_t rows) {
  const int64_t n = per_row(to);
  KILN_CHECK(per_row(from) == n, "rows of ", dims_to_string(from.dims()), " and ", dims_to_string(to.dims()), " differ");
  copy_elements(from, from_row * n, to, to_row * n, rows * n);
}

// A whole tensor (an input or output without a batch axis).
void copy_whole(const Tensor& from, Tensor& to) {
  KILN_CHECK(from.dims() == to.dims(), "whole copy of ", dims_to_string(from.dims()), " into ", dims_to_string(to.dims()));
  copy_elements(from, 0, to, 0, to.numel());
}

// Row copy between sequence lengths: `from` rows are [s, inner...], `to` rows [S, inner...]; the positions
// beyond s are set to `pad` (s < S), or cut off (s > S, truncation).
void copy_rows_seq(const Tensor& from, int64_t from_row, Tensor& to, int64_t to_row, int64_t rows, double pad) {
  KILN_CHECK(from.dims().size() >= 2 && from.dims().size() == to.dims().size(), "sequence copy between ",
             dims_to_string(from.dims()), " and ", dims_to_string(to.dims()));
  const int64_t s = from.dims()[1], S = to.dims()[1];
  const int64_t inner = per_row(to) / std::max<int64_t>(S, 1);
  KILN_CHECK(per_row(from) == s * inner && from_row + rows <= from.dims()[0] && to_row + rows <= to.dims()[0],
             "sequence copy of rows ", from_row, "+", rows, " of ", dims_to_string(from.dims()), " to ", to_row, " of ",
             dims_to_string(to.dims()));
  const int64_t keep = std::min(s, S) * inner;
  for (int64_t r = 0; r < rows; ++r) {
    const int64_t src = (from_row + r) * s * inner, dst = (to_row + r) * S * inner;
    copy_elements(from, src, to, dst, keep);
    const int64_t first = dst + keep, last = dst + S * inner;
    switch (to.dtype()) {
      case DType::i64: std::fill(to.data_as<int64_t>() + first, to.data_as<int64_t>() + last, static_cast<int64_t>(pad)); break;
      case DType::i32: std::fill(to.data_as<int32_t>() + first, to.data_as<int32_t>() + last, static_cast<int32_t>(pad)); break;
      case DType::f32: std::fill(to.data_as<float>() + first, to.data_as<float>() + last, static_cast<float>(pad)); break;
      default: std::memset(static_cast<char*>(to.data()) + first * dtype_size(to.dtype()), 0, (last - first) * dtype_size(to.dtype()));
    }
  }
}

double seconds_between(std::chrono::steady_clock::time_point a, std::chrono::steady_clock::time_point b) {
  return std::chrono::duration<double>(b - a).count();
}

Tensor copy_of(const Tensor& t) {
  Tensor c(t.dtype(), t.dims());
  if (t.nbytes()) std::memcpy(c.data(), t.data(), t.nbytes());
  return c;
}

}  // namespace

struct Engine::Impl {
  struct Slot {
    std::vector<std::unique_ptr<Session>> sessions;  // one per sequence bucket
    std::vector<std::vector<NamedTensor>> in;         // per bucket: the call's inputs
    std::vector<NamedTensor> out;
    Job job;
    std::chrono::steady_clock::time_point started;  // when the current call began (compute time)
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
  std::vector<TensorSpec> in_specs, out_specs;             // the largest bucket's
  std::vector<std::vector<TensorSpec>> bucket_in, bucket_out;  // per bucket
  std::vector<plan::Stages> stages;  // per bucket
  // What the artifact says of each tensor (passes/batch_axes.h): rows on axis 0 (`batched`), the sequence
  // on axis 1 (`seq_*`). Only those axes are merged, padded, split or cut; every other tensor is checked
  // against its compiled shape and passed through whole.
  std::vector<bool> in_batched, out_batched, seq_input, seq_output;
  std::vector<double> pad_value;  // per input: pad id for token ids, 0 otherwise
  bool batching = false;   // rows are independent and on axis 0: requests may have any row count
  bool mergeable = false;  // and every input has rows, so several requests may share a call
  std::vector<int64_t> seqs;  // with a sequence axis: the buckets' lengths, ascending (else empty)
  int64_t batch = 1;          // rows per call (the compiled batch; 1 without a batch axis)
  int max_batch = 1;

  mutable std::mutex mu;
  std::condition_variable arrived;
  std::deque<std::shared_ptr<Request>> queue;
  bool stopping = false;
  Stats stats;

  std::shared_ptr<const Model> model;  // one mapping for every replica, slot and bucket

  Impl(std::shared_ptr<const Model> m, const EngineOptions& o) : options(o), model(std::move(m)) {
    if (options.instances < 1) fail("instances must be at least 1, got ", options.instances);
    if (options.queue_capacity < 1) fail("the queue capacity must be at least 1");
    if (options.max_queue_delay_us < 0) fail("the max queue delay must be >= 0 us, got ", options.max_queue_delay_us);
    const ModelInfo& info = model->info();
    const artifact::MappedArtifact& art = model->mapped();
    const size_t buckets = art.plan_count();
    const int S = options.pipeline_stages ? options.pipeline_stages : info.pipeline_stages;
    for (size_t k = 0; k < buckets; ++k) stages.push_back(plan::cut_stages(art.plan(k), S));
    const int groups_needed = options.instances * S;
    if (options.core_groups.empty()) options.core_groups = split_core_groups(groups_needed);
    if (static_cast<int>(options.core_groups.size()) != groups_needed)
      fail(options.core_groups.size(), " core groups for ", options.instances, " instance(s) of ", S,
           " pipeline stage(s): give ", groups_needed);
    for (const CoreGroup& g : options.core_groups)
      if (S > 1 && g.size() != options.core_groups[0].size())
        fail("pipeline stages need core groups of equal size, got ", core_group_text(options.core_groups[0]), " and ", core_group_text(g));
    read_axes(info);
    max_batch = options.max_batch ? options.max_batch : static_cast<int>(batch);
    if (max_batch < 1 || max_batch > batch)
      fail("max batch ", max_batch, " must be between 1 and ", batch,
           batching ? " (the compiled batch)" : " (the model has no batch axis: one request per call)");
    stats.queue_time = stats.end_to_end_time = stats.compute_time = Histogram(latency_buckets_seconds());
    std::vector<double> rows_bounds;  // 1, 2, 4, ... up to the compiled batch
    for (int64_t b = 1; b < batch; b *= 2) rows_bounds.push_back(static_cast<double>(b));
    rows_bounds.push_back(static_cast<double>(batch));
    stats.call_rows = Histogram(rows_bounds);
    for (int r = 0; r < options.instances; ++r) {
      auto lane = std::make_unique<Lane>();
      lane->groups.assign(options.core_groups.begin() + r * S, options.core_groups.begin() + (r + 1) * S);
      for (int s = 0; s < S; ++s) lane->to_stage.push_back(std::make_unique<SlotQueue>());
      lanes.push_back(std::move(lane));
    }
    // Each lane's sessions are made on its intake thread, the thread that runs them: preparing them
    // (oneDNN weight reorders) then uses that thread's OpenMP team, and the constructing thread never
    // gets a team of its own. A second team in the process makes libgomp throttle its spinning (more
    // managed threads than CPUs: int8 BERT-base b8 calls 7% slower) and, under OMP_WAIT_POLICY=ACTIVE,
    // spins on the cores the engine computes on (2.3x slower), as measured with `kiln bench --engine`.
    std::vector<std::future<void>> ready;
    for (auto& lane : lanes) {
      Lane* l = lane.get();
      auto made = std::make_shared<std::promise<void>>();
      ready.push_back(made->get_future());
      l->threads.emplace_back([this, l, made, buckets] {
        try {
          make_slots(*l, buckets);
        } catch (...) {
          made->set_exception(std::current_exception());
          return;
        }
        made->set_value();
        intake(*l);
      });
    }
    std::exception_ptr error;
    for (std::future<void>& f : ready) {
      try {
        f.get();
      } catch (...) {
        if (!error) error = std::current_exception();
      }
    }
    if (error) {
      stop_and_join();  // the destructor does not run for a constructor that throws
      std::rethrow_exception(error);
    }
    const Slot& any = lanes[0]->slots[0];
    for (const auto& session : any.sessions) {
      bucket_in.push_back(session->inputs());
      bucket_out.push_back(session->outputs());
    }
    in_specs = bucket_in.back();
    out_specs = bucket_out.back();
    for (auto& lane : lanes) {
      Lane* l = lane.get();
      for (int s = 1; s < S; ++s) l->threads.emplace_back([this, l, s] { stage_loop(*l, s); });
    }
  }

  // The lane's session slots: one per pipeline stage plus one (S > 1), or one; each with a session per
  // sequence bucket and the buffers a call's inputs are gathered in.
  void make_slots(Lane& lane, size_t buckets) {
    const int S = static_cast<int>(lane.groups.size());
    for (int k = 0; k < (S > 1 ? S + 1 : 1); ++k) {
      Slot slot;
      for (size_t b = 0; b < buckets; ++b) {
        SessionOptions so;
        so.cpus = lane.groups[0];
        so.pin_threads = options.pin_threads;
        so.seq_bucket = static_cast<int>(b);
        slot.sessions.push_back(std::make_unique<Session>(model, so));
        slot.in.emplace_back();
        for (const TensorSpec& t : slot.sessions.back()->inputs()) slot.in.back().push_back({t.name, Tensor(t.dtype, t.dims)});
      }
      lane.slots.push_back(std::move(slot));
      lane.free.push(k);
    }
  }

  void stop_and_join() {
    {
      std::lock_guard<std::mutex> lock(mu);
      stopping = true;
    }
    arrived.notify_all();
    for (auto& lane : lanes)
      for (std::thread& t : lane->threads)
        if (t.joinable()) t.join();
  }

  // What may vary in a request, as the model says (ModelInfo::any_rows / any_length and each tensor's
  // request shape): rows on axis 0, the sequence on axis 1. A model without either runs requests at
  // its compiled shapes (of one bucket), one request per call.
  void read_axes(const ModelInfo& info) {
    batching = info.any_rows;
    batch = batching ? info.batch : 1;
    for (const TensorInfo& t : info.inputs) {
      in_batched.push_back(batching && t.batch_axis == 0);
      seq_input.push_back(info.any_length && t.request.size() >= 2 && t.batch_axis == 0 && t.seq_axis == 1);
      pad_value.push_back(t.role == "token_ids" ? static_cast<double>(info.pad_id) : 0.0);
    }
    for (const TensorInfo& t : info.outputs) {
      out_batched.push_back(batching && t.batch_axis == 0);
      seq_output.push_back(info.any_length && t.request.size() >= 2 && t.batch_axis == 0 && t.seq_axis == 1);
    }
    mergeable = batching;
    for (bool b : in_batched) mergeable = mergeable && b;
    if (info.any_length) seqs = info.seq_buckets;
  }

  ~Impl() { stop_and_join(); }

  int stage_count() const { return static_cast<int>(stages[0].costs.size()); }

  // "[rows,128] with rows >= 1": what a request may look like.
  std::string shape_text(size_t k) const {
    const Dims& compiled = in_specs[k].dims;
    if (!in_batched[k]) {
      std::string s = dims_to_string(compiled);
      for (size_t b = 0; b + 1 < bucket_in.size(); ++b)
        if (bucket_in[b][k].dims != compiled) s = dims_to_string(bucket_in[b][k].dims) + " or " + s;
      return s;
    }
    const bool seq = seq_input[k];
    std::string s = "[rows";
    for (size_t i = 1; i < compiled.size(); ++i) s += (i == 1 && seq) ? ",seq" : "," + std::to_string(compiled[i]);
    return s + "] with rows >= 1" + (seq ? str(" and seq <= ", seqs.back()) : "");
  }

  // The request's shape for input k in bucket b: the compiled one with its rows and length.
  Dims wanted(size_t k, size_t b, const Tensor& t) const {
    Dims want = bucket_in[b][k].dims;
    if (in_batched[k] && !t.dims().empty()) want[0] = t.dims()[0];
    if (seq_input[k] && t.dims().size() >= 2) want[1] = t.dims()[1];
    return want;
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
      const bool rank_ok = t.dims().size() == spec.dims.size();
      if (!rank_ok || (in_batched[k] && t.dims()[0] < 1) || (seq_input[k] && t.dims()[1] < 1))
        fail("input '", spec.name, "' has shape ", dims_to_string(t.dims()), ", expected ", shape_text(k));
      if (seq_input[k]) {
        if (req->seq && t.dims()[1] != req->seq)
          fail("inputs have different sequence lengths: '", spec.name, "' has ", t.dims()[1], ", the others ", req->seq);
        req->seq = t.dims()[1];
      }
      if (in_batched[k]) {
        if (req->rows && t.dims()[0] != req->rows)
          fail("inputs have different row counts: '", spec.name, "' has ", t.dims()[0], ", the others ", req->rows);
        req->rows = t.dims()[0];
      }
      req->inputs[k] = std::move(nt.tensor);
    }
    std::string missing;
    for (size_t k = 0; k < in_specs.size(); ++k)
      if (!seen[k]) missing += (missing.empty() ? "" : ", ") + in_specs[k].name;
    if (!missing.empty()) fail("missing model input(s): ", missing);
    if (!batching) req->rows = 1;  // the whole request is one call
    if (!seqs.empty()) {
      // The smallest bucket that fits; longer than every bucket is an error unless truncating.
      req->bucket = seqs.size();
      for (size_t b = 0; b < seqs.size() && req->bucket == seqs.size(); ++b)
        if (req->seq <= seqs[b]) req->bucket = b;
      if (req->bucket == seqs.size()) {
        if (!options.truncate)
          fail("a sequence of ", req->seq, " tokens is longer than the longest compiled length (", seqs.back(),
               "): compile with a longer sequence, or enable truncation (truncate)");
        req->bucket = seqs.size() - 1;
      }
    } else {
      // Fixed shapes: the first bucket whose compiled shapes the request has (the last, for the message).
      req->bucket = bucket_in.size() - 1;
      for (size_t b = 0; b < bucket_in.size(); ++b) {
        bool fits = true;
        for (size_t k = 0; fits && k < in_specs.size(); ++k) fits = req->inputs[k].dims() == wanted(k, b, req->inputs[k]);
        if (fits) {
          req->bucket = b;
          break;
        }
      }
    }
    for (size_t k = 0; k < in_specs.size(); ++k)
      if (req->inputs[k].dims() != wanted(k, req->bucket, req->inputs[k]))
        fail("input '", in_specs[k].name, "' has shape ", dims_to_string(req->inputs[k].dims()), ", expected ", shape_text(k));
    req->remaining = req->rows;
    const std::vector<TensorSpec>& outs = bucket_out[req->bucket];
    for (size_t o = 0; o < outs.size(); ++o) {
      Dims d = outs[o].dims;
      if (out_batched[o]) d[0] = req->rows;
      if (seq_output[o]) d[1] = std::min(req->seq, seqs[req->bucket]);
      req->results.push_back({outs[o].name, Tensor(outs[o].dtype, d)});
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
      req->submitted = std::chrono::steady_clock::now();
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
        while (mergeable && rows < max_batch) {
          if (!queue.empty()) {
            if (rows + queue.front()->rows > max_batch || queue.front()->bucket != group.front()->bucket) break;
            rows += queue.front()->rows;
            group.push_back(std::move(queue.front()));
            queue.pop_front();
            continue;
          }
          if (stopping || options.max_queue_delay_us == 0) break;
          if (!arrived.wait_until(lock, deadline, [&] { return stopping || !queue.empty(); })) break;
        }
      }
      // Cut the group's rows into jobs of at most `batch` rows each (a request without rows is one job).
      Job job;
      job.bucket = group.front()->bucket;
      for (const std::shared_ptr<Request>& req : group) {
        for (int64_t r = 0; r < req->rows;) {
          const int64_t take = std::min(req->rows - r, batch - job.used);
          job.pieces.push_back({req, r, job.used, take});
          job.used += take;
          r += take;
          if (job.used == batch) {
            start(lane, std::move(job));
            job = Job{};
            job.bucket = group.front()->bucket;
          }
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
    slot.started = std::chrono::steady_clock::now();
    {
      // A request's first call starting ends its time in the queue.
      std::lock_guard<std::mutex> lock(mu);
      for (const Job::Piece& p : slot.job.pieces)
        if (p.req_row == 0) {
          const double q = seconds_between(p.req->submitted, slot.started);
          stats.queue_seconds += q;
          stats.queue_time.observe(q);
        }
    }
    bool ok = true;
    try {
      const size_t b = slot.job.bucket;
      std::vector<NamedTensor>& in = slot.in[b];
      for (size_t i = 0; i < in.size(); ++i) {
        if (!in_batched[i]) {
          // Without rows, a job holds one request (intake never merges such models).
          copy_whole(slot.job.pieces.front().req->inputs[i], in[i].tensor);
          continue;
        }
        for (const Job::Piece& p : slot.job.pieces) {
          if (seq_input[i]) copy_rows_seq(p.req->inputs[i], p.req_row, in[i].tensor, p.slot_row, p.rows, pad_value[i]);
          else copy_rows(p.req->inputs[i], p.req_row, in[i].tensor, p.slot_row, p.rows);
        }
        for (int64_t r = slot.job.used; r < batch; ++r) copy_rows(in[i].tensor, slot.job.used - 1, in[i].tensor, r, 1);
      }
      slot.sessions[b]->impl_->load_inputs(in);
      slot.sessions[b]->impl_->run_steps(stages[b].bounds[0], stages[b].bounds[1], lane.groups[0]);
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
        const size_t b = slot.job.bucket;
        if (!slot.job.pieces.empty())
          slot.sessions[b]->impl_->run_steps(stages[b].bounds[s], stages[b].bounds[s + 1], lane.groups[s]);
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
        slot.sessions[slot.job.bucket]->impl_->store_outputs(slot.out);
        for (const Job::Piece& p : slot.job.pieces)
          for (size_t o = 0; o < slot.out.size(); ++o) {
            Tensor& result = p.req->results[o].tensor;
            if (seq_output[o]) copy_rows_seq(slot.out[o].tensor, p.slot_row, result, p.req_row, p.rows, 0);
            else if (out_batched[o]) copy_rows(slot.out[o].tensor, p.slot_row, result, p.req_row, p.rows);
            // Without rows the output is the same for every call of the request (rows never mix): its first.
            else if (p.req_row == 0) copy_whole(slot.out[o].tensor, result);
          }
        const auto now = std::chrono::steady_clock::now();
        {
          std::lock_guard<std::mutex> lock(mu);
          ++stats.calls;
          const double compute = seconds_between(slot.started, now);
          stats.compute_seconds += compute;
          stats.compute_time.observe(compute);
          stats.call_rows.observe(static_cast<double>(slot.job.used));
          for (const Job::Piece& p : slot.job.pieces) stats.rows += p.rows;
        }
        for (const Job::Piece& p : slot.job.pieces)
          if (p.req->remaining.fetch_sub(p.rows) == p.rows && !p.req->answered.exchange(true)) {
            {
              std::lock_guard<std::mutex> lock(mu);
              ++stats.completed;
              const double total = seconds_between(p.req->submitted, now);
              stats.end_to_end_seconds += total;
              stats.end_to_end_time.observe(total);
            }
            p.req->done.set_value(std::move(p.req->results));
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
      if (!p.req->answered.exchange(true)) {
        {
          std::lock_guard<std::mutex> lock(mu);
          ++stats.failed;
          const double total = seconds_between(p.req->submitted, std::chrono::steady_clock::now());
          stats.end_to_end_seconds += total;
          stats.end_to_end_time.observe(total);
        }
        p.req->done.set_exception(e);
      }
    slot.job.pieces.clear();
  }
};

Engine::Engine(const std::string& artifact_path, const EngineOptions& options)
    : impl_(std::make_unique<Impl>(Model::open(artifact_path), options)) {}
Engine::Engine(std::shared_ptr<const Model> model, const EngineOptions& options)
    : impl_(std::make_unique<Impl>(std::move(model), options)) {}
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
bool Engine::has_batch_axis() const { return impl_->batching; }
int64_t Engine::compiled_batch() const { return impl_->batch; }
int Engine::max_batch() const { return impl_->max_batch; }
int Engine::pipeline_stages() const { return impl_->stage_count(); }
const std::vector<double>& Engine::stage_costs() const { return impl_->stages[0].costs; }
const std::vector<int64_t>& Engine::seq_buckets() const { return impl_->seqs; }
const CoreGroups& Engine::core_groups() const { return impl_->options.core_groups; }
const std::string& Engine::metadata_json() const { return impl_->model->info().metadata_json; }
const std::shared_ptr<const Model>& Engine::model() const { return impl_->model; }

Engine::Stats Engine::stats() const {
  std::lock_guard<std::mutex> lock(impl_->mu);
  Stats s = impl_->stats;
  s.queue_depth = impl_->queue.size();
  s.in_flight = s.requests - s.completed - s.failed;
  return s;
}

const std::vector<TensorInfo>& Engine::request_specs() const { return impl_->model->info().inputs; }

}  // namespace kiln
