"""Golden files: consistency, PyTorch reproduces them from the committed weights, and the
exported ONNX graphs agree with PyTorch when run by ONNX Runtime (Java, tools/OrtRun.java)."""
import hashlib
import json
import os
import numpy as np
import pytest
import torch
from conftest import GOLDEN_DIR, MODELS_DIR, WEIGHTS, need_file
from meddiff import ortjava
from meddiff.golden import load_weights, phantom
from meddiff.sampler import NoiseSource, TorchEps, denoise, super_resolve, anomaly
from meddiff.schedule import cosine_alpha_bar


def golden():
    p = os.path.join(GOLDEN_DIR, "golden.json")
    need_file(p, "golden.json")
    g = json.load(open(p))
    A = {a["name"]: np.fromfile(os.path.join(GOLDEN_DIR, a["file"]), dtype="<f4").reshape(a["shape"]) for a in g["arrays"]}
    return g, A


def test_golden_files_consistent():
    g, A = golden()
    total = 0
    for a in g["arrays"]:
        fn = os.path.join(GOLDEN_DIR, a["file"])
        assert os.path.getsize(fn) == 4 * int(np.prod(a["shape"]))
        assert hashlib.sha256(open(fn, "rb").read()).hexdigest() == a["sha256"]
        total += os.path.getsize(fn)
    assert total < 5 * 2 ** 20
    assert np.allclose(g["alpha_bar"], cosine_alpha_bar(), rtol=0, atol=1e-12)
    hu, _, _, _ = phantom()
    assert A["input_hu"].shape == hu.shape
    for k in ("base", "sr"):
        p = os.path.join(os.path.dirname(MODELS_DIR), g["models"][k]["file"])
        if os.path.exists(p):
            assert hashlib.sha256(open(p, "rb").read()).hexdigest() == g["models"][k]["sha256"], "golden files are stale: rerun meddiff.golden"


def patch_inputs(g, A, cn):
    p = g["runs"]["patch"]
    inp = {"x_t": A["patch_x_t"], "t": np.array([p["t"]], np.float32), "pos_embed": A["patch_pos_embed"],
           "anatomy": A["patch_anatomy"], "region": np.array([p["region"]], np.int64)}
    if cn:
        inp["condition"] = A["patch_condition"]
    return inp


def test_pytorch_reproduces_golden():
    g, A = golden()
    need_file(WEIGHTS, "demo weights")
    cfg, base, cn, _ = load_weights(WEIGHTS)
    with torch.no_grad():
        inp = patch_inputs(g, A, False)
        e = base(*[torch.from_numpy(v) for v in inp.values()]).numpy()
        assert np.abs(e - A["patch_eps_base"]).max() < 1e-5
        inp = patch_inputs(g, A, True)
        e = cn(*[torch.from_numpy(v) for v in inp.values()]).numpy()
        assert np.abs(e - A["patch_eps_sr"]).max() < 1e-5
    ab = cosine_alpha_bar()
    d = g["runs"]["denoise"]
    x, ts = denoise(TorchEps(base), A["input_norm"], A["anatomy"], d["region"], d["sigma_n"], d["lambda"], d["zeta"], d["steps"],
                    d["patch"], d["stride"], g["pe_L"], NoiseSource(arrays=list(A["denoise_noise"])), ab)
    assert ts == d["t_sequence"]
    assert np.abs(x - A["denoise_output"]).max() < 1e-4
    s = g["runs"]["super_resolution"]
    x, ts = super_resolve(TorchEps(cn), A["sr_input_thick"], g["volume_shape_zyx"][0], A["sr_anatomy"], s["region"], s["sf"], s["sigma_n"],
                          s["lambda"], s["zeta"], s["steps"], s["t_start"], s["patch"], s["stride"], g["pe_L"],
                          NoiseSource(arrays=list(A["sr_noise"])), ab, cond=A["sr_condition"])
    assert np.abs(x - A["sr_output"]).max() < 1e-4
    an = g["runs"]["anomaly"]
    m, x0p, score = anomaly(TorchEps(base), A["anomaly_input"], A["anomaly_anatomy"], an["region"], A["anomaly_mask"], an["t"], an["patch"],
                            an["stride"], g["pe_L"], NoiseSource(arrays=list(A["anomaly_noise"])), ab)
    assert np.abs(m - A["anomaly_map"]).max() < 1e-4 and abs(score - an["score"]) < 1e-4


@pytest.mark.parametrize("kind,name", [("base", "meddiff-fm-base"), ("sr", "meddiff-fm-sr-controlnet"),
                                       ("base", "meddiff-fm-base.fp16"), ("sr", "meddiff-fm-sr-controlnet.fp16")])
def test_onnx_parity_with_pytorch_via_ort_java(kind, name):
    g, A = golden()
    p = os.path.join(MODELS_DIR, name + ".onnx")
    need_file(p, "shipped model")
    if not ortjava.available():
        pytest.skip("ONNX Runtime Java not available (java + onnxruntime jar in ~/.m2 or $ORT_JAR)")
    out, _, _ = ortjava.run(p, patch_inputs(g, A, kind == "sr"), threads=2)
    ref = A["patch_eps_base" if kind == "base" else "patch_eps_sr"]
    diff = float(np.abs(out.reshape(ref.shape) - ref).max())
    tol = 2e-2 if "fp16" in name else 1e-4
    assert diff < tol, diff
    card = json.load(open(p.replace(".onnx", ".card.json")))
    assert card["parity"]["parity_max_abs_diff"] is not None and card["parity"]["parity_max_abs_diff"] < tol


class OrtEps:
    def __init__(self, path):
        self.path = path

    def __call__(self, x_t, t, pe, anat, region, cond=None):
        n = x_t.shape[0]
        inp = {"x_t": x_t, "t": np.full((n,), t, np.float32), "pos_embed": pe, "anatomy": anat, "region": np.full((n,), region, np.int64)}
        if cond is not None:
            inp["condition"] = cond
        return ortjava.run(self.path, inp, threads=2)[0].reshape(x_t.shape)


def test_denoise_sampler_on_ort_matches_golden():
    """What the Java side must do: the reference sampler driven by ONNX Runtime instead of PyTorch."""
    g, A = golden()
    p = os.path.join(MODELS_DIR, "meddiff-fm-base.onnx")
    need_file(p, "shipped model")
    if not ortjava.available():
        pytest.skip("ONNX Runtime Java not available")
    d = g["runs"]["denoise"]
    x, _ = denoise(OrtEps(p), A["input_norm"], A["anatomy"], d["region"], d["sigma_n"], d["lambda"], d["zeta"], d["steps"],
                   d["patch"], d["stride"], g["pe_L"], NoiseSource(arrays=list(A["denoise_noise"])))
    assert np.abs(x - A["denoise_output"]).max() < g["tolerances"]["sampler_outputs_abs"]
