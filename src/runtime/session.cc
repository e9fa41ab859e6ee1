#include "kiln/session.h"

#include "kiln/model.h"
#include "runtime/session_impl.h"

namespace kiln {

Session::Session(const std::string& artifact_path, const SessionOptions& options)
    : impl_(std::make_unique<Impl>(Model::open(artifact_path), options)) {}
Session::Session(std::shared_ptr<const Model> model, const SessionOptions& options)
    : impl_(std::make_unique<Impl>(std::move(model), options)) {}
Session::~Session() = default;
Session::Session(Session&&) noexcept = default;
Session& Session::operator=(Session&&) noexcept = default;

const std::vector<TensorSpec>& Session::inputs() const { return impl_->inputs; }
const std::vector<TensorSpec>& Session::outputs() const { return impl_->outputs; }

int Session::threads() const { return impl_->threads; }

const std::string& Session::metadata_json() const { return impl_->model->info().metadata_json; }
const std::shared_ptr<const Model>& Session::model() const { return impl_->model; }

std::vector<NamedTensor> Session::run(const std::vector<NamedTensor>& inputs) {
  std::vector<NamedTensor> out;
  impl_->run_into(inputs, out);
  return out;
}

void Session::run(const std::vector<NamedTensor>& inputs, std::vector<NamedTensor>& outputs) {
  impl_->run_into(inputs, outputs);
}

int Session::profiled_runs() const {
  std::lock_guard<std::mutex> lock(impl_->mu);
  return impl_->profiled;
}

std::vector<StepProfile> Session::profile() const {
  std::lock_guard<std::mutex> lock(impl_->mu);
  const plan::Plan& plan = impl_->art->plan(impl_->bucket);
  std::vector<StepProfile> out;
  for (size_t i = 0; i < impl_->steps.size(); ++i) {
    const runtime::BoundStep& b = impl_->steps[i];
    StepProfile p;
    p.op = b.step->op;
    p.name = b.step->name;
    p.kernel = b.kernel->name;
    auto spec = [&](int id) {
      return id < 0 ? std::string("_") : std::string(dtype_name(plan.tensors[id].dtype)) + dims_to_string(plan.tensors[id].dims);
    };
    for (size_t k = 0; k < b.step->inputs.size(); ++k) p.shapes += (k ? ", " : "") + spec(b.step->inputs[k]);
    p.shapes += " ->";
    for (size_t k = 0; k < b.step->outputs.size(); ++k) p.shapes += (k ? ", " : " ") + spec(b.step->outputs[k]);
    p.flops = plan::step_flops(plan, i);
    p.ms = impl_->step_ms[i];
    p.last_start_ms = impl_->last_start_ms[i];
    p.last_ms = impl_->last_ms[i];
    out.push_back(std::move(p));
  }
  return out;
}

}  // namespace kiln
