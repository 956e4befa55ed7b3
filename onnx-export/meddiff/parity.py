"""ONNX / PyTorch parity: runs the shipped ONNX graphs with ONNX Runtime Java (CPU) on the golden
patch and on a random batch-2, non-cubic input, compares with the PyTorch modules loaded from
the committed weights, and records the maximum absolute difference in the model cards.

  /usr/bin/python3 -m meddiff.parity --update-cards
"""
import argparse
import json
import os
import sys
import numpy as np
import torch

from . import MODELS_DIR, GOLDEN_DIR, ONNX_EXPORT_DIR
from . import ortjava
from .golden import load_weights
from .posembed import patch_pe

WEIGHTS = os.path.join(ONNX_EXPORT_DIR, "weights", "meddiff-fm-demo.pt")


def golden_patch(cn):
    g = json.load(open(os.path.join(GOLDEN_DIR, "golden.json")))
    A = {a["name"]: np.fromfile(os.path.join(GOLDEN_DIR, a["file"]), dtype="<f4").reshape(a["shape"]) for a in g["arrays"]}
    p = g["runs"]["patch"]
    inp = {"x_t": A["patch_x_t"], "t": np.array([p["t"]], np.float32), "pos_embed": A["patch_pos_embed"],
           "anatomy": A["patch_anatomy"], "region": np.array([p["region"]], np.int64)}
    if cn:
        inp["condition"] = A["patch_condition"]
    return inp


def random_batch(L, cn, shape=(24, 32, 16), seed=0):
    rng = np.random.default_rng(seed)
    inp = {"x_t": rng.standard_normal((2, 1) + shape).astype(np.float32), "t": np.array([10.0, 900.0], np.float32),
           "pos_embed": np.stack([patch_pe((40, 48, 40), (4, 8, 12), shape, L), patch_pe((40, 48, 40), (16, 16, 24), shape, L)]),
           "anatomy": rng.integers(0, 5, (2, 1) + shape).astype(np.float32), "region": np.array([0, 1], np.int64)}
    if cn:
        inp["condition"] = np.clip(rng.standard_normal((2, 1) + shape), -1, 1).astype(np.float32)
    return inp


def main(argv=None):
    ap = argparse.ArgumentParser()
    ap.add_argument("--update-cards", action="store_true")
    a = ap.parse_args(argv)
    torch.set_num_threads(2)
    cfg, base, cn, _ = load_weights(WEIGHTS)
    res = {}
    for name, model, is_cn in (("meddiff-fm-base", base, False), ("meddiff-fm-sr-controlnet", cn, True),
                               ("meddiff-fm-base.fp16", base, False), ("meddiff-fm-sr-controlnet.fp16", cn, True)):
        p = os.path.join(MODELS_DIR, name + ".onnx")
        if not os.path.exists(p):
            continue
        r = {}
        for label, inp in (("golden_patch_16^3", golden_patch(is_cn)), ("random_batch2_24x32x16", random_batch(cfg["pe_L"], is_cn))):
            with torch.no_grad():
                ref = model(*[torch.from_numpy(v) for v in inp.values()]).numpy()
            out, _, _ = ortjava.run(p, inp, threads=2)
            r[label] = float(np.abs(out.reshape(ref.shape) - ref).max())
        res[name] = r
        if a.update_cards:
            from .export import update_card
            update_card(p, {"parity": {"parity_max_abs_diff": max(r.values()), "cases": r,
                                       "how": ("fp16 graph vs PyTorch fp32; " if "fp16" in name else "") + "ONNX Runtime Java 1.29.0 CPU (tools/OrtRun.java) vs PyTorch fp32 on the golden patch (golden/patch_*) and a random batch-2 non-cubic input; test: tests/test_golden_parity.py",
                                       "command": "/usr/bin/python3 -m meddiff.parity " + " ".join(sys.argv[1:] if argv is None else argv)}})
    print(json.dumps(res, indent=1))


if __name__ == "__main__":
    main()
