#!/usr/bin/python3
"""Writes the graph ONNX Runtime's `quantize_dynamic` emits, for ONNX Runtime's int8 row of bench/e2e/compare.

    ort_int8_model.py MODEL.onnx OUT.onnx

ORT's Python quantisation tools cannot be installed here (nothing from a network registry), so the graph
is built with Debian's python3-onnx the way `onnxruntime.quantization.quantize_dynamic(per_channel=True,
weight_type=QInt8)` builds it with its default op types. Every MatMul whose second input is a 2-D float
initializer W [K, N] becomes

    A_q, A_scale, A_zp = DynamicQuantizeLinear(A)               u8 activations, asymmetric, per tensor
    Y_i32 = MatMulInteger(A_q, W_q, A_zp, W_zp)                 W_q: s8, symmetric per column (W_zp = 0)
    Y = Mul(Cast<float>(Y_i32), Mul(A_scale, W_scale))          W_scale [N] = max|W[:, n]| / 127

which ONNX Runtime fuses into DynamicQuantizeMatMul / MatMulIntegerToFloat. Other nodes are kept.
Prints how many MatMuls were quantised. Errors: one line `ort_int8_model: error: ...`, exit 1.
"""
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper


def fail(msg):
    print("ort_int8_model: error: " + msg, file=sys.stderr)
    sys.exit(1)


def quantize_weights(w):
    """Symmetric per-column s8 (ORT's QInt8 per_channel on axis 1 for MatMul B): scale = max|w| / 127."""
    absmax = np.abs(w).max(axis=0)
    scale = np.where(absmax > 0, absmax / 127.0, 1.0).astype(np.float32)
    q = np.clip(np.rint(w / scale), -127, 127).astype(np.int8)
    return q, scale


def main():
    if len(sys.argv) != 3:
        fail("usage: ort_int8_model.py MODEL.onnx OUT.onnx")
    src, dst = sys.argv[1], sys.argv[2]
    try:
        model = onnx.load(src)
    except Exception as e:  # noqa: BLE001  (onnx raises several kinds)
        fail("cannot read '%s': %s" % (src, e))
    g = model.graph
    inits = {t.name: t for t in g.initializer}
    nodes, new_inits, count = [], [], 0
    for node in g.node:
        w = inits.get(node.input[1]) if node.op_type == "MatMul" and len(node.input) == 2 else None
        if w is None or w.data_type != TensorProto.FLOAT or len(w.dims) != 2:
            nodes.append(node)
            continue
        count += 1
        base = (node.name or node.output[0]).replace("/", "_")
        q, scale = quantize_weights(numpy_helper.to_array(w))
        wq, ws, wz = base + "_W_quantized", base + "_W_scale", base + "_W_zero_point"
        new_inits += [numpy_helper.from_array(q, wq), numpy_helper.from_array(scale, ws),
                      numpy_helper.from_array(np.zeros(q.shape[1], np.int8), wz)]
        a = node.input[0]
        aq, asc, azp = base + "_A_quantized", base + "_A_scale", base + "_A_zero_point"
        nodes.append(helper.make_node("DynamicQuantizeLinear", [a], [aq, asc, azp], name=base + "_quant"))
        nodes.append(helper.make_node("MatMulInteger", [aq, wq, azp, wz], [base + "_i32"], name=base + "_matmul_integer"))
        nodes.append(helper.make_node("Cast", [base + "_i32"], [base + "_f32"], to=TensorProto.FLOAT, name=base + "_cast"))
        nodes.append(helper.make_node("Mul", [asc, ws], [base + "_scale"], name=base + "_scale_mul"))
        nodes.append(helper.make_node("Mul", [base + "_f32", base + "_scale"], [node.output[0]], name=base + "_output_mul"))
    if count == 0:
        fail("'%s' has no MatMul with a constant 2-D float weight" % src)
    used = {i for n in nodes for i in n.input}
    kept = [t for t in g.initializer if t.name in used]
    del g.node[:]
    g.node.extend(nodes)
    del g.initializer[:]
    g.initializer.extend(kept + new_inits)
    if all(o.domain not in ("", "ai.onnx") or o.version >= 11 for o in model.opset_import):
        pass
    else:
        fail("'%s' has opset < 11: DynamicQuantizeLinear needs 11" % src)
    onnx.save(model, dst)
    print("ort_int8_model: %d MatMuls quantised -> %s" % (count, dst))


if __name__ == "__main__":
    main()
