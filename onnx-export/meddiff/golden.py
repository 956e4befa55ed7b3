"""Golden files for the Java implementation (onnx-export/golden/).

  /usr/bin/python3 -m meddiff.golden --weights weights/meddiff-fm-demo.pt

Input volume: a synthetic abdomen-like phantom (no patient data is copied into the repository),
made low-dose with meddiff.simulate. Every array is raw little-endian float32, C order;
golden.json describes each one and every run's exact parameters.
"""
import argparse
import hashlib
import json
import math
import os
import numpy as np

from . import GOLDEN_DIR, MODELS_DIR
from . import data as D
from .schedule import cosine_alpha_bar, t_from_sigma, skip_sequence
from .posembed import patch_pe
from .sampler import NoiseSource, TorchEps, denoise, super_resolve, anomaly, patch_grid, slab_H, slab_HT
from .simulate import low_dose, thick_slices
from .thinslices import to_thin
from .weights import sr_condition

SHAPE = (40, 40, 32)
REGION = "abdomen"


def phantom(shape=SHAPE, seed=7):
    Dz, Hy, Wx = shape
    z, y, x = np.meshgrid(np.arange(Dz), np.arange(Hy), np.arange(Wx), indexing="ij")
    cy, cx = (Hy - 1) / 2, (Wx - 1) / 2
    hu = np.full(shape, -1000.0, dtype=np.float32)
    r_out = ((y - cy) / 18.0) ** 2 + ((x - cx) / 14.5) ** 2
    r_in = ((y - cy) / 15.5) ** 2 + ((x - cx) / 12.0) ** 2
    hu[r_out <= 1] = -100.0                      # subcutaneous fat
    hu[r_in <= 1] = 40.0                          # soft tissue
    liver = (((z - 24) / 14.0) ** 2 + ((y - cy + 3) / 9.0) ** 2 + ((x - cx + 4) / 6.5) ** 2) <= 1
    hu[liver & (r_in <= 1)] = 60.0
    spine = (((y - (cy + 11)) / 3.0) ** 2 + ((x - cx) / 3.0) ** 2) <= 1
    hu[spine] = 700.0
    lung = (z < 12) & ((((y - cy + 2) / 9.0) ** 2 + ((np.abs(x - cx) - 5.5) / 4.5) ** 2) <= 1)
    hu[lung] = -850.0
    rng = np.random.default_rng(seed)
    from scipy import ndimage
    tex = ndimage.gaussian_filter(rng.standard_normal(shape), 1.0) * 12.0
    hu = hu + np.where(hu > -500, tex, 0.0).astype(np.float32)
    lesion = (((z - 26) / 3.0) ** 2 + ((y - cy + 3) / 3.0) ** 2 + ((x - cx + 4) / 3.0) ** 2) <= 1
    hu_les = hu.copy()
    hu_les[lesion] -= 45.0
    return hu.astype(np.float32), hu_les.astype(np.float32), liver.astype(np.float32), lesion.astype(np.float32)


def load_weights(path):
    import torch
    from .network import MedDiffUNet, ControlNetSR
    from .weights import sr_path
    w = torch.load(path, map_location="cpu")
    cfg = w["cfg"]
    base = MedDiffUNet(cfg)
    base.load_state_dict(w["base"])
    cn = None
    if os.path.exists(sr_path(path)):
        cn = ControlNetSR(base)
        sd = {("base." + k): v for k, v in w["base"].items()}
        sd.update(torch.load(sr_path(path), map_location="cpu")["controlnet"])
        cn.load_state_dict(sd)
        base = cn.base
    return cfg, base.eval(), (cn.eval() if cn is not None else None), w


class Writer:
    def __init__(self, out):
        self.out = out
        self.arrays = []
        os.makedirs(out, exist_ok=True)
        for f in os.listdir(out):
            if f.endswith(".f32"):
                os.remove(os.path.join(out, f))

    def put(self, name, a, meaning):
        a = np.ascontiguousarray(a, dtype="<f4")
        fn = name + ".f32"
        a.tofile(os.path.join(self.out, fn))
        self.arrays.append({"name": name, "file": fn, "shape": list(a.shape), "dtype": "float32 little-endian",
                            "meaning": meaning, "sha256": hashlib.sha256(a.tobytes()).hexdigest()})


def sha256_file(p):
    h = hashlib.sha256()
    with open(p, "rb") as f:
        h.update(f.read())
    return h.hexdigest()


def make(weights, out=GOLDEN_DIR, P=24, stride=16, steps=3):
    import torch
    torch.set_num_threads(2)
    cfg, base, cn, w = load_weights(weights)
    L = cfg["pe_L"]
    ab = cosine_alpha_bar(cfg.get("T", 1000))
    region = D.REGIONS.index(REGION)
    W = Writer(out)
    hu_clean, hu_les, liver, lesion = phantom()
    hu_ld = low_dose(hu_clean, dose=0.25, seed=11)
    y0 = D.normalize(hu_ld, REGION)
    anat = D.anatomy_map(hu_ld)
    W.put("input_hu", hu_ld, "[D,H,W] low-dose phantom in HU (simulated quarter dose, meddiff.simulate.low_dose seed 11); 1 mm voxels; the denoising input")
    W.put("input_norm", y0, "[D,H,W] input_hu normalized with the abdomen window (60/360), clipped to [-1,1]: y0 of the denoising run")
    W.put("anatomy", anat, "[D,H,W] anatomy class index (0..4) computed from input_hu by the HU-threshold rule")
    runs = {}

    # ---- single patch (16^3 at offset (8,16,8) of the volume): network only
    Pp, off, t_p = 16, (8, 16, 8), 500
    ns = NoiseSource(seed=5)
    sl = tuple(slice(o, o + Pp) for o in off)
    z = ns.next((Pp, Pp, Pp))
    a = float(ab[t_p])
    xt = (np.float32(math.sqrt(a)) * y0[sl] + np.float32(math.sqrt(1 - a)) * z).astype(np.float32)[None, None]
    pe = patch_pe(SHAPE, off, (Pp, Pp, Pp), L)[None]
    an = anat[sl][None, None]
    cond_full = slab_HT(slab_H(y0, 5), SHAPE[0], 5)
    cond = cond_full[sl][None, None]
    with torch.no_grad():
        args = [torch.from_numpy(xt), torch.tensor([float(t_p)]), torch.from_numpy(np.ascontiguousarray(pe)), torch.from_numpy(np.ascontiguousarray(an)),
                torch.tensor([region], dtype=torch.int64)]
        eps_b = base(*args).numpy()
        eps_c = cn(*(args + [torch.from_numpy(np.ascontiguousarray(cond))])).numpy() if cn is not None else None
    W.put("patch_x_t", xt, f"[1,1,16,16,16] network input x_t (t = {t_p}) for the patch at offset (z,y,x) = {off}")
    W.put("patch_pos_embed", pe, f"[1,{6 * L},16,16,16] position embedding of that patch inside the [40,40,32] volume (L = {L})")
    W.put("patch_anatomy", an, "[1,1,16,16,16] anatomy input of the patch")
    W.put("patch_condition", cond, "[1,1,16,16,16] ControlNet condition input of the patch (H^T H input_norm, sf = 5)")
    W.put("patch_eps_base", eps_b, "[1,1,16,16,16] expected output eps of models/meddiff-fm-base.onnx (PyTorch fp32)")
    if eps_c is not None:
        W.put("patch_eps_sr", eps_c, "[1,1,16,16,16] expected output eps of models/meddiff-fm-sr-controlnet.onnx (PyTorch fp32)")
    runs["patch"] = {"t": t_p, "region": region, "offset_zyx": list(off), "patch": Pp}

    eps_base = TorchEps(base, batch=4)
    # ---- denoising
    dn = {"sigma_n": 0.15, "lambda": 10.0, "zeta": 0.3, "steps": steps, "patch": P, "stride": stride, "region": region}
    ns = NoiseSource(seed=21)
    trace = []
    x, ts = denoise(eps_base, y0, anat, region, dn["sigma_n"], dn["lambda"], dn["zeta"], steps, P, stride, L, ns, ab, trace=trace)
    W.put("denoise_noise", np.stack(ns.used), f"[{len(ns.used)},D,H,W] noise arrays z consumed by the denoising run, in order (one per step with t_prev >= 0)")
    W.put("denoise_output", x, "[D,H,W] denoised result (normalized scale, not clipped)")
    dn.update({"t_start": ts[0], "t_sequence": ts, "trace": trace, "patch_offsets_zyx": patch_grid(SHAPE, P, stride)})
    runs["denoise"] = dn

    # ---- super-resolution
    if cn is not None:
        thick_hu = thick_slices(hu_clean, 5)
        y_thick = D.normalize(thick_hu, REGION)
        mode = sr_condition(weights)
        cond_hu = to_thin(thick_hu, SHAPE[0], 5, mode)
        anat_sr = D.anatomy_map(cond_hu)
        cond_sr = D.normalize(cond_hu, REGION)
        sr = {"sf": 5, "sigma_n": 1.0, "lambda": 1.0, "zeta": 0.3, "steps": steps, "patch": P, "stride": stride, "region": region,
              "condition": mode}
        t_start = t_from_sigma(ab, sr["sigma_n"])
        ns = NoiseSource(seed=31)
        trace = []
        x, ts = super_resolve(TorchEps(cn, batch=4), y_thick, SHAPE[0], anat_sr, region, 5, sr["sigma_n"], sr["lambda"], sr["zeta"],
                              steps, t_start, P, stride, L, ns, ab, trace=trace, cond=cond_sr)
        W.put("sr_input_thick", y_thick, "[8,H,W] thick-slice input y0 (5 mm: mean of 5 clean 1 mm phantom slices, normalized abdomen window)")
        W.put("sr_input_thick_hu", thick_hu, "[8,H,W] the same thick slices in HU (what the condition is computed from)")
        W.put("sr_condition", cond_sr, f"[D,H,W] ControlNet condition and start: the thick HU brought to the thin grid ({mode}, "
              "meddiff.thinslices), normalized")
        W.put("sr_anatomy", anat_sr, f"[D,H,W] anatomy class map computed from the thick HU on the thin grid ({mode})")
        W.put("sr_noise", np.stack(ns.used), f"[{len(ns.used)},D,H,W] noise consumed by the SR run, in order: [0] initialisation, then one per step with t_prev >= 0")
        W.put("sr_output", x, "[D,H,W] super-resolved volume (normalized scale)")
        sr.update({"t_start": ts[0], "t_sequence": ts, "trace": trace})
        runs["super_resolution"] = sr

    # ---- anomaly
    x0 = D.normalize(hu_les, REGION)
    anat_an = D.anatomy_map(hu_les)
    ns = NoiseSource(seed=41)
    amap, x0p, score = anomaly(eps_base, x0, anat_an, region, liver, 950, P, stride, L, ns, ab)
    W.put("anomaly_input", x0, "[D,H,W] phantom with a hypodense lesion (-45 HU), no added noise, normalized")
    W.put("anomaly_anatomy", anat_an, "[D,H,W] anatomy map of the anomaly input")
    W.put("anomaly_mask", liver, "[D,H,W] region-of-interest mask (phantom liver), 1 inside")
    W.put("anomaly_noise", np.stack(ns.used), "[1,D,H,W] noise z used to diffuse to t = 950")
    W.put("anomaly_x0_pred", x0p, "[D,H,W] one-step prediction x0' (clipped to [-1,1])")
    W.put("anomaly_map", amap, "[D,H,W] |x0 - x0'| * mask")
    runs["anomaly"] = {"t": 950, "patch": P, "stride": stride, "region": region, "score_q": 0.99, "score": score}

    g = {
        "description": "Golden files for the Java sampler; spec in onnx-export/README.md (Sampler specification).",
        "volume_shape_zyx": list(SHAPE), "voxel_mm": 1.0,
        "region_classes": D.REGIONS, "region_used": REGION, "window": D.WINDOWS[REGION],
        "pe_L": L, "T": len(ab), "alpha_bar": [float(v) for v in ab],
        "models": {"base": {"file": "models/meddiff-fm-base.onnx"}, "sr": {"file": "models/meddiff-fm-sr-controlnet.onnx"}},
        "weights_sha256": {"base": sha256_file(weights), "sr": sha256_file(weights.replace(".pt", "-sr.pt"))},
        "noise_consumption": "each sampler run has its own noise stack; arrays are consumed in index order: "
                             "denoise: one per step whose t_prev >= 0 (only if zeta > 0); SR: [0] for x_start, then one per step whose t_prev >= 0 (only if zeta > 0); anomaly: [0] for x_950.",
        "tolerances": {"patch_eps_abs": 1e-4, "sampler_outputs_abs": 2e-3,
                       "note": "ONNX Runtime vs PyTorch differ by ~1e-6 per evaluation; sampler outputs accumulate float32 differences"},
        "batching": "the PyTorch reference evaluated patches 4 at a time; the result does not depend on batching beyond float rounding",
        "runs": runs, "arrays": W.arrays,
    }
    for k in ("base", "sr"):
        p = os.path.join(os.path.dirname(MODELS_DIR), g["models"][k]["file"])
        if os.path.exists(p):
            g["models"][k]["sha256"] = sha256_file(p)
    with open(os.path.join(out, "golden.json"), "w") as f:
        json.dump(g, f, indent=1)
    return g


def main(argv=None):
    ap = argparse.ArgumentParser()
    ap.add_argument("--weights", required=True)
    ap.add_argument("--out", default=GOLDEN_DIR)
    a = ap.parse_args(argv)
    g = make(a.weights, a.out)
    print(json.dumps({k: v for k, v in g["runs"].items()}, default=str)[:2000])


if __name__ == "__main__":
    main()
