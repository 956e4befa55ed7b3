"""fp16 variant of an exported fp32 graph, with the onnx API only (no onnxconverter-common here).

Everything that depends on a spatial input (x_t, pos_embed, anatomy, condition) runs in fp16;
the timestep/region embedding branch (sinusoids, MLPs) stays fp32 and is cast where it joins;
Resize scales stay fp32; graph inputs and the output `eps` stay float32 (Cast nodes inside).

  /usr/bin/python3 -m meddiff.fp16 ../models/meddiff-fm-base.onnx ../models/meddiff-fm-base.fp16.onnx
"""
import sys
import numpy as np
import onnx
from onnx import helper, numpy_helper, TensorProto

FLOAT, HALF = TensorProto.FLOAT, TensorProto.FLOAT16


def convert(src, dst, scalar_inputs=("t", "region")):
    m = onnx.load(src)
    g = m.graph
    inferred = onnx.shape_inference.infer_shapes(m)
    types = {}
    for vi in list(inferred.graph.value_info) + list(inferred.graph.input) + list(inferred.graph.output):
        types[vi.name] = vi.type.tensor_type.elem_type
    for init in g.initializer:
        types[init.name] = init.data_type
    for n in g.node:
        if n.op_type == "Constant":
            for a in n.attribute:
                if a.name == "value":
                    types[n.output[0]] = a.t.data_type
    dep = {i.name for i in g.input if i.name not in scalar_inputs}
    half_nodes = set()
    for k, n in enumerate(g.node):
        if any(i in dep for i in n.input if i):
            dep.update(n.output)
            half_nodes.add(k)
    graph_inputs = {i.name for i in g.input}
    inits = {i.name: i for i in g.initializer}
    # initializers consumed only in fp16 float positions can be converted in place
    uses = {}
    for k, n in enumerate(g.node):
        for j, i in enumerate(n.input):
            uses.setdefault(i, []).append((k, j, n.op_type))
    keep32 = lambda op, j: op == "Resize" and j in (1, 2)
    convert_inits = {name for name in inits if inits[name].data_type == FLOAT and
                     all(k in half_nodes and not keep32(op, j) for k, j, op in uses.get(name, []))}
    new_nodes, casts = [], {}

    def cast_to_half(name):
        if name not in casts:
            out = name + "__fp16"
            new_nodes.append(helper.make_node("Cast", [name], [out], to=HALF, name=name + "__cast16"))
            casts[name] = out
        return casts[name]

    out_names = {o.name for o in g.output}
    renamed = {}
    for k, n in enumerate(g.node):
        if k in half_nodes:
            for j, i in enumerate(n.input):
                if not i or keep32(n.op_type, j) or types.get(i) != FLOAT:
                    continue
                if i in convert_inits:
                    continue
                if i in graph_inputs or i in inits or not (i in dep):
                    n.input[j] = cast_to_half(i)
            for j, o in enumerate(n.output):
                if o in out_names:
                    n.output[j] = o + "__fp16"
                    renamed[o] = n.output[j]
        new_nodes.append(n)
    for o, h in renamed.items():
        new_nodes.append(helper.make_node("Cast", [h], [o], to=FLOAT, name=o + "__cast32"))
    for name in convert_inits:
        arr = numpy_helper.to_array(inits[name]).astype(np.float16)
        inits[name].CopyFrom(numpy_helper.from_array(arr, name))
    del g.node[:]
    g.node.extend(new_nodes)
    del g.value_info[:]
    onnx.checker.check_model(m)
    onnx.save(m, dst)
    return dst


if __name__ == "__main__":
    convert(sys.argv[1], sys.argv[2])
