// Runtime: load a compiled artifact and run it.
//
//   kiln::Session session("model.kiln");
//   std::vector<kiln::NamedTensor> outputs = session.run({{"input_ids", ids}, {"attention_mask", mask}});
//
// The artifact is memory-mapped; weights are used in place (read-only, shared between sessions of
// the same process through the page cache). Activations live in one arena per session, allocated
// once at load. run() is thread-safe: concurrent calls on one session are serialised.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "kiln/dtype.h"
#include "kiln/tensor.h"

namespace kiln {

struct TensorSpec {
  std::string name;
  DType dtype;
  Dims dims;
};

class Session {
 public:
  explicit Session(const std::string& artifact_path);
  ~Session();
  Session(Session&&) noexcept;
  Session& operator=(Session&&) noexcept;

  const std::vector<TensorSpec>& inputs() const;
  const std::vector<TensorSpec>& outputs() const;

  // Every model input exactly once, by name, with the compiled dims. Integer inputs are accepted as
  // i64 or i32. Throws kiln::Error naming the input and the expected/found dtype or shape.
  // Returns the model outputs in the artifact's output order.
  std::vector<NamedTensor> run(const std::vector<NamedTensor>& inputs);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace kiln
