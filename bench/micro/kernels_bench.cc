// Micro-benchmarks of the hot non-GEMM kernels on BERT shapes (batch 8 or 1, sequence 128, hidden 768
// or 384, 12 heads, FFN 3072), for each ISA tier this CPU has: ref, avx2, avx512. The fast tiers run
// with 1 thread and with every OpenMP thread; ref is single-threaded. Throughput counts the bytes of
// the activations read and written once (per-row vectors like gamma are left out).
//
//   make bench-micro                                  (builds, runs under the shared bench lock)
//   build/kiln_micro --benchmark_filter='Softmax'     (a subset)
#include <benchmark/benchmark.h>
#include <omp.h>

#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include "ir/graph.h"
#include "kernels/isa.h"
#include "kernels/kernel.h"
#include "kiln/tensor.h"
#include "util/half.h"

namespace {

using kiln::DType;
using kiln::Dims;
using kiln::Tensor;
using kiln::kernels::Isa;

struct Case {
  std::string op;
  std::string label;
  std::vector<Dims> inputs;   // {} = an omitted optional input
  std::vector<Dims> outputs;
  kiln::ir::Attrs attrs;
  std::vector<int> big;       // inputs counted in the byte total (the activations)
  DType dtype = DType::f32;   // the registry key; bf16: input 0 is converted to bf16
};

// Deterministic values in [lo, hi).
Tensor filled(const Dims& dims, uint64_t seed, float lo, float hi) {
  Tensor t(DType::f32, dims);
  uint64_t s = seed * 0x9E3779B97F4A7C15ull + 1;
  for (int64_t i = 0; i < t.numel(); ++i) {
    s = s * 6364136223846793005ull + 1442695040888963407ull;
    t.data_as<float>()[i] = lo + (hi - lo) * static_cast<float>(s >> 40) / static_cast<float>(1 << 24);
  }
  return t;
}

void run_case(benchmark::State& state, const Case& c, Isa isa, int threads) {
  const kiln::kernels::KernelEntry* k = kiln::kernels::find_kernel(c.op, c.dtype, isa);
  std::vector<Tensor> ins, outs;
  for (size_t i = 0; i < c.inputs.size(); ++i) {
    if (c.inputs[i].empty()) {
      ins.emplace_back();
      continue;
    }
    ins.push_back(filled(c.inputs[i], i + 1, -3.f, 3.f));
    if (c.op == "Softmax" || c.op == "MultiHeadAttention") {  // the last quarter of every row masked
      float* p = ins.back().data_as<float>();
      const int64_t n = c.inputs[i].back();
      for (int64_t r = 0; r < ins.back().numel() / n; ++r)
        for (int64_t j = n - n / 4; j < n; ++j) p[r * n + j] = -3.4028234663852886e38f;
    }
  }
  if (c.dtype == DType::bf16) {
    Tensor low(DType::bf16, ins[0].dims());
    for (int64_t i = 0; i < low.numel(); ++i) low.data_as<uint16_t>()[i] = kiln::f32_to_bf16(ins[0].data_as<float>()[i]);
    ins[0] = std::move(low);
  }
  for (const Dims& d : c.outputs) outs.emplace_back(DType::f32, d);
  kiln::kernels::KernelContext ctx{c.attrs, {}, {}};
  for (Tensor& t : ins) ctx.inputs.push_back({t.dtype(), t.dims(), t.data()});
  for (Tensor& t : outs) ctx.outputs.push_back({DType::f32, t.dims(), t.data()});

  int64_t bytes = 0;
  for (int i : c.big) bytes += static_cast<int64_t>(ins[i].nbytes());
  for (const Tensor& t : outs) bytes += t.numel() * 4;

  const int saved = omp_get_max_threads();
  omp_set_num_threads(threads);
  std::shared_ptr<void> prepared;  // oneDNN primitives (attention)
  if (k->prepare) {
    prepared = k->prepare(ctx);
    ctx.state = prepared.get();
  }
  k->fn(ctx);  // warm-up: first touch of the outputs
  for (auto _ : state) {
    k->fn(ctx);
    benchmark::ClobberMemory();
  }
  omp_set_num_threads(saved);
  state.SetBytesProcessed(state.iterations() * bytes);
  state.counters["threads"] = threads;
}

std::vector<Case> bert_cases() {
  std::vector<Case> cases;
  kiln::ir::Attrs ln_attrs;
  ln_attrs.set_float("epsilon", 1e-12);
  for (Dims x : {Dims{8, 128, 768}, Dims{1, 128, 768}, Dims{8, 128, 384}}) {
    const int64_t h = x.back();
    const std::string label = std::to_string(x[0] * x[1]) + "x" + std::to_string(h);
    cases.push_back({"LayerNormalization", label, {x, {h}, {h}}, {x}, ln_attrs, {0}});
    cases.push_back({"SkipLayerNormalization", label, {x, x, {h}, {h}}, {x}, ln_attrs, {0, 1}});
  }
  for (Dims s : {Dims{8, 12, 128, 128}, Dims{1, 12, 128, 128}})
    cases.push_back({"Softmax", std::to_string(s[0] * s[1] * s[2]) + "x128", {s}, {s}, {}, {0}});
  // Whole attention (QK^T, masked softmax, PV) on the merged QKV projection's output.
  for (int64_t b : {8, 1}) {
    kiln::ir::Attrs mha;
    mha.set_int("num_heads", 12);
    mha.set_int("packed_qkv", 1);
    for (DType t : {DType::f32, DType::bf16})
      cases.push_back({"MultiHeadAttention", std::to_string(b) + "x128x12x64/" + kiln::dtype_name(t),
                       {{b, 128, 2304}, {}, {}, {b, 1, 1, 128}}, {{b, 128, 768}}, mha, {0}, t});
  }
  const Dims ffn{8, 128, 3072};
  kiln::ir::Attrs tanh_attrs;
  tanh_attrs.set_string("approximate", "tanh");
  cases.push_back({"Gelu", "1024x3072/erf", {ffn}, {ffn}, {}, {0}});
  cases.push_back({"Gelu", "1024x3072/tanh", {ffn}, {ffn}, tanh_attrs, {0}});
  cases.push_back({"Erf", "1024x3072", {ffn}, {ffn}, {}, {0}});
  cases.push_back({"Add", "1024x3072+3072", {ffn, {3072}}, {ffn}, {}, {0}});
  return cases;
}

}  // namespace

int main(int argc, char** argv) {
  static const std::vector<Case> cases = bert_cases();
  const int max_threads = omp_get_max_threads();
  for (const Case& c : cases)
    for (Isa isa : {Isa::ref, Isa::avx2, Isa::avx512}) {
      if (isa > kiln::kernels::detected_isa() || !kiln::kernels::find_kernel(c.op, c.dtype, isa)) continue;
      std::vector<int> thread_counts = {1};
      if (isa != Isa::ref && max_threads > 1) thread_counts.push_back(max_threads);
      for (int t : thread_counts) {
        const std::string name = c.op + "/" + c.label + "/" + kiln::kernels::isa_name(isa) + "/threads:" + std::to_string(t);
        benchmark::RegisterBenchmark(name.c_str(), [&c, isa, t](benchmark::State& s) { run_case(s, c, isa, t); })
            ->Unit(benchmark::kMicrosecond)
            ->UseRealTime();
      }
    }
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
