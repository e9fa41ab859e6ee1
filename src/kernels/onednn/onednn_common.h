// Shared oneDNN plumbing for Kiln's oneDNN-backed kernels: one CPU engine per process, errors as
// kiln::Error.
#pragma once

#include <dnnl.hpp>

#include <unordered_map>
#include <vector>

namespace kiln::kernels {

dnnl::engine& onednn_engine();

// Primitive attributes with a user-managed scratchpad: each step owns its scratch memory (made once in
// prepare), so executing a primitive allocates nothing.
dnnl::primitive_attr user_scratchpad_attr();
// Arguments of one primitive execution, converted once to oneDNN's C form: the C++ API's
// execute(stream, map) builds a new vector on every call, which a run must not do.
using ExecArgs = std::vector<dnnl_exec_arg_t>;
ExecArgs exec_args(const std::unordered_map<int, dnnl::memory>& args);
// Executes and waits; throws kiln::Error on failure.
void execute(const dnnl::primitive& p, dnnl::stream& s, const ExecArgs& args);

// Scratch memory for a primitive made with user_scratchpad_attr().
dnnl::memory make_scratchpad(const dnnl::memory::desc& desc);

}  // namespace kiln::kernels
