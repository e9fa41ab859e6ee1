// The timing half of the oneDNN matmul micro-benchmarks (onednn_float_bench.cc, onednn_int8_bench.cc):
// packs the plain [k, n] weights into the primitive's layout, binds them, a scratchpad and the caller's
// src/dst/post-op args, runs 3 warm-up calls, times each iteration (execute + wait), and reports the rate
// as `counter` (m*k*n multiply-adds = 2*m*k*n operations) and the implementation as the label.
#pragma once

#include <benchmark/benchmark.h>
#include <dnnl.hpp>

#include <string>
#include <unordered_map>
#include <vector>

inline void time_matmul(benchmark::State& state, const dnnl::matmul::primitive_desc& pd, dnnl::memory plain_weights,
                        std::unordered_map<int, dnnl::memory> args, int64_t m, int64_t k, int64_t n,
                        const char* counter) {
  dnnl::engine eng = pd.get_engine();
  dnnl::stream s(eng);
  dnnl::memory packed(pd.weights_desc(), eng);
  dnnl::reorder(plain_weights, packed).execute(s, plain_weights, packed);
  std::vector<char> scratch(pd.scratchpad_desc().get_size() + 64);
  args[DNNL_ARG_WEIGHTS] = packed;
  args[DNNL_ARG_SCRATCHPAD] = dnnl::memory(pd.scratchpad_desc(), eng, scratch.data());
  dnnl::matmul prim(pd);
  for (int i = 0; i < 3; ++i) prim.execute(s, args);
  s.wait();
  for (auto _ : state) {
    prim.execute(s, args);
    s.wait();
  }
  state.counters[counter] = benchmark::Counter(2.0 * static_cast<double>(m * k * n) * static_cast<double>(state.iterations()),
                                               benchmark::Counter::kIsRate);
  state.SetLabel(pd.impl_info_str());
}
