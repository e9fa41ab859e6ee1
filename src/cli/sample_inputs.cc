#include "cli/sample_inputs.h"

#include "cli/args.h"
#include "kiln/error.h"
#include "kiln/npy.h"
#include "kiln/sample_inputs.h"

namespace kiln::cli {

std::vector<NamedTensor> read_input_specs(const std::vector<std::string>& specs) {
  std::vector<NamedTensor> inputs;
  for (const std::string& spec : specs) {
    const NameValue in = parse_name_value("--input", spec, "NAME=FILE.npy");
    inputs.push_back({in.name, read_npy(in.value)});
  }
  return inputs;
}

std::vector<NamedTensor> load_or_make_inputs(const Session& session, const std::vector<std::string>& specs) {
  std::vector<NamedTensor> inputs = read_input_specs(specs);
  for (NamedTensor& made : make_sample_inputs(session)) {
    bool given = false;
    for (const NamedTensor& in : inputs) given |= in.name == made.name;
    if (!given) inputs.push_back(std::move(made));
  }
  return inputs;
}

}  // namespace kiln::cli
