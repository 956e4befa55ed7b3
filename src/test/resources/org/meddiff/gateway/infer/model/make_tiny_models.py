"""Generates the tiny analytic ONNX models used by the Java model-runtime tests (no weights, instant):

  eps = 0.5 x_t + 0.1 mean_c(pos_embed) + 0.01 anatomy + 0.001 t + 0.1 region [+ 0.2 condition]

with the MedDiff-FM input/output contract (dynamic N, D, H, W; pos_embed has 6L = 24 channels).
Run: /usr/bin/python3 make_tiny_models.py   (writes tiny-eps.onnx and tiny-eps-cond.onnx here)
"""
import onnx
from onnx import helper, TensorProto as TP


def make(path, cond):
    dims = ["N", 1, "D", "H", "W"]
    ins = [helper.make_tensor_value_info("x_t", TP.FLOAT, dims),
           helper.make_tensor_value_info("t", TP.FLOAT, ["N"]),
           helper.make_tensor_value_info("pos_embed", TP.FLOAT, ["N", 24, "D", "H", "W"]),
           helper.make_tensor_value_info("anatomy", TP.FLOAT, dims),
           helper.make_tensor_value_info("region", TP.INT64, ["N"])]
    if cond:
        ins.append(helper.make_tensor_value_info("condition", TP.FLOAT, dims))
    out = helper.make_tensor_value_info("eps", TP.FLOAT, dims)
    c = lambda n, v: helper.make_node("Constant", [], [n], value=helper.make_tensor(n, TP.FLOAT, [], [v]))
    nodes = [
        c("c05", 0.5), c("c01", 0.1), c("c001", 0.01), c("c0001", 0.001),
        helper.make_node("Constant", [], ["shp"], value=helper.make_tensor("shp", TP.INT64, [5], [-1, 1, 1, 1, 1])),
        helper.make_node("Mul", ["x_t", "c05"], ["a"]),
        helper.make_node("ReduceMean", ["pos_embed"], ["pm"], axes=[1], keepdims=1),
        helper.make_node("Mul", ["pm", "c01"], ["b"]),
        helper.make_node("Mul", ["anatomy", "c001"], ["c"]),
        helper.make_node("Reshape", ["t", "shp"], ["t5"]),
        helper.make_node("Mul", ["t5", "c0001"], ["d"]),
        helper.make_node("Cast", ["region"], ["rf"], to=TP.FLOAT),
        helper.make_node("Reshape", ["rf", "shp"], ["r5"]),
        helper.make_node("Mul", ["r5", "c01"], ["e"]),
        helper.make_node("Add", ["a", "b"], ["s1"]),
        helper.make_node("Add", ["s1", "c"], ["s2"]),
        helper.make_node("Add", ["s2", "d"], ["s3"]),
        helper.make_node("Add", ["s3", "e"], ["eps" if not cond else "s4"]),
    ]
    if cond:
        nodes += [c("c02", 0.2), helper.make_node("Mul", ["condition", "c02"], ["f"]), helper.make_node("Add", ["s4", "f"], ["eps"])]
    g = helper.make_graph(nodes, "tiny_eps", ins, [out])
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 17)], producer_name="make_tiny_models.py")
    m.ir_version = 8
    onnx.checker.check_model(m)
    onnx.save(m, path)


if __name__ == "__main__":
    import os
    here = os.path.dirname(os.path.abspath(__file__))
    make(os.path.join(here, "tiny-eps.onnx"), False)
    make(os.path.join(here, "tiny-eps-cond.onnx"), True)
