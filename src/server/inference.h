// One inference request against a served model, whatever protocol carried it (HTTP/JSON or gRPC): the
// token tensors, or texts the model's tokenizer encodes, through the model's Engine (queue, dynamic
// batcher), within the request timeout; for text classifiers also the label and score of each row.
#pragma once

#include <string>
#include <vector>

#include "kiln/tensor.h"
#include "server/model_repository.h"

namespace kiln::server {

struct InferenceLimits {
  size_t max_rows = 1024;      // rows (or texts) per request
  int64_t timeout_ms = 0;      // 0: wait as long as it takes
};

struct InferenceRequest {
  std::vector<NamedTensor> inputs;  // the model's inputs (already checked against its datatypes), or
  bool text = false;                // texts instead:
  std::vector<std::string> texts, pairs;
  bool truncate = false;            // cut texts longer than the longest bucket instead of refusing them
};

struct InferenceResult {
  std::vector<NamedTensor> outputs;  // the model's, in its order
  bool classified = false;           // text into a classifier: labels and scores below
  std::vector<std::string> labels;
  std::vector<double> scores;        // softmax probability of each label
};

// Throws HttpError (400 rows over the limit, 504 timeout), QueueFullError, or kiln::Error from the model
// (bad shapes, token ids outside the vocabulary, texts too long).
InferenceResult run_inference(const ServedModel& m, InferenceRequest request, const InferenceLimits& limits);

// The Engine call with the timeout: what every route that runs a model uses.
std::vector<NamedTensor> run_model(const ServedModel& m, std::vector<NamedTensor> inputs, const InferenceLimits& limits);

// The model version a request names ("" = the highest), or HttpError(404) naming what is served.
const ServedModel& resolve_model(const ModelRepository& repo, const std::string& name, const std::string& version);

// Whether output `name` is wanted by a request that asked for `requested` (empty: all).
bool output_wanted(const std::vector<std::string>& requested, const std::string& name);

}  // namespace kiln::server
