// Serving runtime over one compiled artifact: data-parallel replicas on core groups, a bounded request
// queue, a dynamic batcher, and requests of any batch size. A server sits on exactly this.
//
//   kiln::EngineOptions o;
//   o.instances = 2;                       // two replicas, one per core group
//   o.max_queue_delay_us = 2000;           // wait up to 2 ms to merge single requests into a batch
//   kiln::Engine engine("model.kiln", o);
//   auto outputs = engine.run({{"input_ids", ids}, {"attention_mask", mask}});   // blocking
//   std::future<std::vector<kiln::NamedTensor>> f = engine.submit(inputs);       // async
//
// Requests. What may vary is a fact the compiler recorded in the artifact (passes/batch_axes.h), never a
// guess from shapes:
//  - Rows. When the model's rows are independent and every batched input and output has them on axis 0,
//    a request may have any number of rows (the same for all its batched inputs). Rows from several
//    queued requests are merged into one call of the compiled batch size (up to max_batch rows; the unused
//    rows of a call are copies of its last row, and their outputs are dropped); a request with more rows
//    than that runs in several calls. Inputs without a batch axis are checked against their compiled
//    shape and passed whole (such a model never merges requests); outputs without one come back whole.
//  - Sequence. When the batched inputs and outputs that change between sequence buckets have the length
//    on axis 1, a request may have any length up to the longest compiled one: it runs in the smallest
//    bucket that fits (`kiln compile --seq 32,64,128`), padded with the model's pad id (token ids;
//    `--pad-id`) and 0 (masks, token types), and sequence outputs are cut back to its length.
//  - Anything else (a model without a batch axis, one whose rows may interact, an artifact from before
//    the axes were recorded): every input must have the compiled shape (of one bucket), and each request
//    is one call, its outputs returned as computed.
// Every copy between a request and a call is checked against both tensors' sizes.
// Validation happens in submit()/run(): a bad request throws kiln::Error at once, naming the input.
//
// Threads. Per replica one thread per pipeline stage, each with its OpenMP team pinned to the stage's
// core group; the replicas (and a pipeline's S + 1 in-flight slots) share the mapped weights (one
// read-only page-cache copy) and each has its own activation arena. run() and submit() may be called
// from any number of threads at once. Pipelined results are identical to unpipelined ones: the same
// steps run in the same order on the same data, only on other threads.
#pragma once

#include <cstdint>
#include <future>
#include <memory>
#include <string>
#include <vector>

#include "kiln/error.h"
#include "kiln/model.h"
#include "kiln/session.h"
#include "kiln/stats.h"
#include "kiln/topology.h"

namespace kiln {

// submit() on a full queue: the caller should back off (a server answers 503), not wait unboundedly.
class QueueFullError : public Error {
 public:
  using Error::Error;
};

struct EngineOptions {
  int instances = 1;             // replicas (>= 1)
  // Pipeline stages per replica: 0 = as compiled (`kiln compile --pipeline-cores N`), else cut at load
  // by the same cost model. Each stage runs on its own core group.
  int pipeline_stages = 0;
  CoreGroups core_groups;        // instances x stages groups, replica-major; empty: the CPUs split evenly
  int max_batch = 0;             // rows merged into one call, 1..compiled batch; 0: the compiled batch
  int64_t max_queue_delay_us = 0;  // how long a worker waits for more rows before running a partial batch
  size_t queue_capacity = 1024;  // pending requests; beyond it submit() throws QueueFullError
  // A request longer than the longest compiled sequence is cut to it instead of rejected.
  bool truncate = false;
  bool pin_threads = true;
};

class Engine {
 public:
  // Opens the artifact once (kiln/model.h); or runs a Model opened before. Every replica, pipeline slot
  // and sequence bucket shares that one mapping.
  explicit Engine(const std::string& artifact_path, const EngineOptions& options = {});
  explicit Engine(std::shared_ptr<const Model> model, const EngineOptions& options = {});
  ~Engine();  // finishes the queued requests, then stops the workers
  Engine(const Engine&) = delete;
  Engine& operator=(const Engine&) = delete;

  std::future<std::vector<NamedTensor>> submit(std::vector<NamedTensor> inputs);
  std::vector<NamedTensor> run(const std::vector<NamedTensor>& inputs);

  // The compiled specs of the longest bucket (for batched tensors axis 0 is the compiled batch; requests
  // may have any number of rows).
  const std::vector<TensorSpec>& inputs() const;
  const std::vector<TensorSpec>& outputs() const;
  // Whether requests may have any row count (see above); rows per call: the compiled batch, else 1.
  bool has_batch_axis() const;
  int64_t compiled_batch() const;
  int max_batch() const;
  int pipeline_stages() const;
  const std::vector<double>& stage_costs() const;  // estimated share of each stage (sums to 1)
  // The compiled sequence lengths, ascending (empty for a model without a sequence axis).
  const std::vector<int64_t>& seq_buckets() const;
  const CoreGroups& core_groups() const;
  const std::string& metadata_json() const;
  const std::shared_ptr<const Model>& model() const;

  // What a request may look like: the model's inputs with -1 where a request may vary (ModelInfo).
  const std::vector<TensorInfo>& request_specs() const;

  // Counters since start, for a server's metrics. Times are sums in seconds over requests (queue: from
  // submit until its first call starts; end to end: from submit until it is answered) or over calls
  // (compute: loading inputs, running every stage and copying outputs out).
  struct Stats {
    uint64_t requests = 0;   // accepted
    uint64_t rejected = 0;   // queue full
    uint64_t completed = 0;  // answered with outputs
    uint64_t failed = 0;     // answered with an error
    uint64_t calls = 0;      // model calls made (executions)
    uint64_t rows = 0;       // request rows computed (one per request for a model without a batch axis)
    uint64_t queue_depth = 0;  // now: accepted requests waiting in the queue (no worker has taken them)
    uint64_t in_flight = 0;    // now: accepted and not yet answered (queued ones included)
    double queue_seconds = 0, compute_seconds = 0, end_to_end_seconds = 0;
    // The same per observation, for a server's histograms: queue and end-to-end time per request,
    // compute time and request rows per call (kiln/stats.h latency buckets; rows 1..compiled batch).
    Histogram queue_time, end_to_end_time, compute_time, call_rows;
  };
  Stats stats() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace kiln
