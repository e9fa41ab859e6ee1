#!/usr/bin/env python3
"""Write ONNX's backend node tests (the generators shipped with the onnx Python package) to OUT_DIR.

    generate_node_tests.py OUT_DIR [--op OP_TYPE]

Layout, as ONNX's own `backend-test-tools generate-data`:
    OUT_DIR/<test name>/model.onnx
    OUT_DIR/<test name>/test_data_set_0/input_<i>.pb, output_<i>.pb   (TensorProto; sequences as SequenceProto)

Debian's python3-onnx 1.12 generators use NumPy aliases that NumPy 1.24 removed (np.float, np.int, np.bool,
np.object, np.complex); they are restored in this process before the generators are imported. Each
generator module is imported on its own so that one failing module only loses its own tests (reported on
stderr). The data is written at test time (into the build directory), never committed.
"""
import argparse
import importlib
import os
import pkgutil
import shutil
import sys
import warnings

import numpy as np

# NumPy 1.24 removed these aliases of the builtins; ONNX 1.12's generators still use them.
for _alias, _builtin in (("float", float), ("int", int), ("bool", bool), ("object", object),
                         ("complex", complex), ("str", str), ("long", int), ("unicode", str)):
    if _alias not in np.__dict__:
        setattr(np, _alias, _builtin)

import onnx  # noqa: E402
from onnx import numpy_helper  # noqa: E402


def write_value(path, value, type_proto, name):
    if type_proto.HasField("sequence_type"):
        proto = numpy_helper.from_list(value, name)
    elif type_proto.HasField("optional_type"):
        proto = numpy_helper.from_optional(value, name)
    elif type_proto.HasField("map_type"):
        proto = numpy_helper.from_dict(value, name)
    else:
        proto = numpy_helper.from_array(np.asarray(value), name)
    with open(path, "wb") as f:
        f.write(proto.SerializeToString())


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("out_dir")
    ap.add_argument("--op", default=None, help="only the tests of this operator type")
    args = ap.parse_args()

    warnings.simplefilter("ignore")
    import onnx.backend.test.case.node as node_pkg
    node_pkg._TargetOpType = args.op
    failed = []
    for _, name, _ in pkgutil.iter_modules(node_pkg.__path__):
        try:
            importlib.import_module(f"{node_pkg.__name__}.{name}")   # runs the module's export_* functions
        except Exception as e:   # noqa: BLE001 - one broken generator must not lose the others
            failed.append(f"{name}: {type(e).__name__}: {e}")
    cases = node_pkg._NodeTestCases

    os.makedirs(args.out_dir, exist_ok=True)
    written = 0
    for case in cases:
        d = os.path.join(args.out_dir, case.name)
        if os.path.exists(d):
            shutil.rmtree(d)
        os.makedirs(d)
        with open(os.path.join(d, "model.onnx"), "wb") as f:
            f.write(case.model.SerializeToString())
        graph = case.model.graph
        for i, (inputs, outputs) in enumerate(case.data_sets):
            sd = os.path.join(d, f"test_data_set_{i}")
            os.makedirs(sd)
            for j, value in enumerate(inputs):
                write_value(os.path.join(sd, f"input_{j}.pb"), value, graph.input[j].type, graph.input[j].name)
            for j, value in enumerate(outputs):
                write_value(os.path.join(sd, f"output_{j}.pb"), value, graph.output[j].type, graph.output[j].name)
        written += 1
    for f in failed:
        print(f"generate_node_tests: generator module failed: {f}", file=sys.stderr)
    print(f"wrote {written} node tests to {args.out_dir}" + (f" ({len(failed)} generator modules failed)" if failed else ""))
    return 0


if __name__ == "__main__":
    sys.exit(main())
