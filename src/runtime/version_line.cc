// version_line and kernel_tier. Not in src/util/version.cc: they need oneDNN and the kernel dispatcher, and src/util is also built into
// the fuzz targets' parser library, which links neither.
#include <dnnl.h>

#include "kernels/isa.h"
#include "kiln/error.h"
#include "kiln/version.h"

namespace kiln {

std::string version_line() {
  const dnnl_version_t* v = dnnl_version();
  return str("kiln ", version(), " (artifact format ", kArtifactFormatVersion, ", oneDNN ", v->major, ".", v->minor,
             ".", v->patch, ", CPU tier ", kernels::isa_name(kernels::detected_isa()), ")");
}

const char* kernel_tier() { return kernels::isa_name(kernels::active_isa()); }

}  // namespace kiln
