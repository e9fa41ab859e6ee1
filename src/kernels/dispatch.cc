// The one place Kiln reads CPU features. Kernels never test CPUID themselves.
#include <cstdlib>
#include <string>

#include "kernels/isa.h"
#include "kiln/error.h"

namespace kiln::kernels {
namespace {

struct CpuInfo {
  Isa isa = Isa::ref;
  bool avx512_bf16 = false;
  std::string features;
};

const CpuInfo& cpu_info() {
  static const CpuInfo info = [] {
    CpuInfo c;
    __builtin_cpu_init();
    auto add = [&](bool has, const char* name) {
      if (has) c.features += (c.features.empty() ? "" : " ") + std::string(name);
      return has;
    };
    bool avx2 = add(__builtin_cpu_supports("avx2"), "avx2");
    bool fma = add(__builtin_cpu_supports("fma"), "fma");
    bool f = add(__builtin_cpu_supports("avx512f"), "avx512f");
    bool bw = add(__builtin_cpu_supports("avx512bw"), "avx512bw");
    bool vl = add(__builtin_cpu_supports("avx512vl"), "avx512vl");
    bool dq = add(__builtin_cpu_supports("avx512dq"), "avx512dq");
    c.avx512_bf16 = add(__builtin_cpu_supports("avx512bf16"), "avx512_bf16");
    add(__builtin_cpu_supports("avx512vnni"), "avx512_vnni");
    if (avx2 && fma) c.isa = Isa::avx2;
    // The avx512 tier's files are compiled with -mavx512f/bw/vl/dq (CMakeLists.txt).
    if (c.isa == Isa::avx2 && f && bw && vl && dq) c.isa = Isa::avx512;
    return c;
  }();
  return info;
}

}  // namespace

const char* isa_name(Isa isa) {
  switch (isa) {
    case Isa::ref: return "ref";
    case Isa::avx2: return "avx2";
    case Isa::avx512: return "avx512";
  }
  return "?";
}

Isa detected_isa() { return cpu_info().isa; }

const char* cpu_features() { return cpu_info().features.c_str(); }

bool has_avx512_bf16() { return active_isa() == Isa::avx512 && cpu_info().avx512_bf16; }

Isa active_isa() {
  static const Isa isa = [] {
    const char* env = std::getenv("KILN_FORCE_ISA");
    if (!env || !*env) return detected_isa();
    std::string want = env;
    for (Isa t : {Isa::ref, Isa::avx2, Isa::avx512})
      if (want == isa_name(t)) {
        if (t > detected_isa())
          fail("KILN_FORCE_ISA=", want, " but this CPU supports at most ", isa_name(detected_isa()));
        return t;
      }
    fail("KILN_FORCE_ISA='", want, "' is not one of ref, avx2, avx512");
  }();
  return isa;
}

}  // namespace kiln::kernels
