"""Evaluation on held-out data; every figure that goes into a model card comes from here.

  /usr/bin/python3 -m meddiff.evaluate --weights weights/meddiff-fm-demo.pt --task denoise --update-cards
  /usr/bin/python3 -m meddiff.evaluate --weights weights/meddiff-fm-demo.pt --task sr --update-cards
  /usr/bin/python3 -m meddiff.evaluate --weights weights/meddiff-fm-demo.pt --task anomaly --update-cards
  /usr/bin/python3 -m meddiff.evaluate --task timing --update-cards      (ONNX Runtime Java, CPU)

Denoising: validation volume tseg_A_abdomen (never trained on), a central block resampled to
1 mm; quarter dose simulated in the projection domain (meddiff.simulate, calibrated I0);
PSNR / SSIM in the [-160, 240] HU window against the full-dose volume, for the low-dose
input, the reference DiffPIR sampler, and a Gaussian filter whose sigma was chosen on a
TRAINING volume (tseg_B) with the same simulation.
"""
import argparse
import json
import math
import os
import sys
import time
import numpy as np
from scipy import ndimage

from . import MODELS_DIR, ONNX_EXPORT_DIR
from . import data as D
from .sampler import TorchEps, denoise, super_resolve, anomaly, slab_H, slab_HT, NoiseSource
from .simulate import low_dose, thick_slices, insert_lesions, calibrated_I0
from .thinslices import to_thin
from .weights import sr_condition

EVAL_WIN = (-160.0, 240.0)
RUNS = os.path.join(ONNX_EXPORT_DIR, "runs")


def psnr(a_hu, b_hu, win=EVAL_WIN):
    lo, hi = win
    a = (np.clip(a_hu, lo, hi) - lo) / (hi - lo)
    b = (np.clip(b_hu, lo, hi) - lo) / (hi - lo)
    mse = float(np.mean((a - b) ** 2))
    return 10 * math.log10(1.0 / mse)


def ssim(a_hu, b_hu, win=EVAL_WIN):
    from skimage.metrics import structural_similarity
    lo, hi = win
    a = (np.clip(a_hu, lo, hi) - lo) / (hi - lo)
    b = (np.clip(b_hu, lo, hi) - lo) / (hi - lo)
    return float(np.mean([structural_similarity(a[k], b[k], data_range=1.0) for k in range(a.shape[0])]))


def estimate_sigma(y, valid=None):
    """Robust noise std of a normalized volume: 1.4826 MAD of (y[z+1] - y[z]) / sqrt(2) over
    voxels with both values inside (-1, 1) (and inside `valid`). Assumes noise independent
    between slices and anatomy smooth along z at 1 mm."""
    d = (y[1:] - y[:-1]) / math.sqrt(2)
    m = (np.abs(y[1:]) < 1) & (np.abs(y[:-1]) < 1)
    if valid is not None:
        m &= valid[1:] & valid[:-1]
    v = d[m]
    return float(1.4826 * np.median(np.abs(v - np.median(v))))


def block(hu, dz, hy, wx):
    """Central block (dz slices) with the in-plane box of size (hy, wx) centred on the body."""
    D_ = hu.shape[0]
    z0 = (D_ - dz) // 2
    body = D.body_mask(hu[z0:z0 + dz])
    yy, xx = np.nonzero(body.any(0))
    cy, cx = int(np.mean(yy)), int(np.mean(xx))
    y0 = int(np.clip(cy - hy // 2, 0, hu.shape[1] - hy))
    x0 = int(np.clip(cx - wx // 2, 0, hu.shape[2] - wx))
    return z0, y0, x0


def load_weights_models(weights):
    from .golden import load_weights
    return load_weights(weights)


def denoise_case(name, cfg, base, dz, hy, wx, steps, lam, zeta, P, stride, gauss_sigmas, seed=0, log=print):
    case = D.load_case(name, os.path.join(ONNX_EXPORT_DIR, ".cache"))
    hu = case["hu"]
    z0, y0_, x0_ = block(hu, dz, hy, wx)
    full = hu[z0:z0 + dz]
    t0 = time.time()
    ld = low_dose(full, 0.25, seed=seed, roi=(y0_, x0_, hy, wx))  # whole slices are projected
    t_sim = time.time() - t0
    sl = (slice(None), slice(y0_, y0_ + hy), slice(x0_, x0_ + wx))
    fd = full[sl]
    region = D.REGIONS.index("abdomen")
    y = D.normalize(ld, "abdomen")
    body = D.body_mask(full)[sl]
    sig = estimate_sigma(y, body)
    anat = D.anatomy_map(np.where(body, ld, -1000.0).astype(np.float32))
    res = {"case": name, "block_zyx": [z0, y0_, x0_], "shape": list(fd.shape), "simulation_seconds": t_sim,
           "sim_noise_std_hu_body_softtissue": float(np.std((ld - fd)[body & (np.abs(fd) < 200)])),
           "sigma_n_estimated": sig, "psnr_low_dose": psnr(ld, fd), "ssim_low_dose": ssim(ld, fd)}
    g = {}
    for s in gauss_sigmas:
        gd = ndimage.gaussian_filter(ld, s)
        g[str(s)] = psnr(gd, fd)
    res["gaussian_psnr_by_sigma"] = g
    if base is not None:
        t0 = time.time()
        x, ts = denoise(TorchEps(base, batch=8), y, anat, region, sig, lam, zeta, steps, P, stride, cfg["pe_L"],
                        NoiseSource(seed + 1), log=log)
        res["sampler_seconds_pytorch_cpu"] = time.time() - t0
        out = D.denormalize(x, "abdomen")
        # outside the model window the model cannot know HU: keep the low-dose value there
        res["psnr_denoised"] = psnr(out, fd)
        res["ssim_denoised"] = ssim(out, fd)
        res["t_sequence"] = ts
        res["denoised_hu"] = out
    res["fd"], res["ld"] = fd, ld
    return res


def eval_denoise(weights, steps=10, lam=10.0, zeta=0.0, P=32, stride=16, log=print):
    import torch
    torch.set_num_threads(2)
    cfg, base, cn, w = load_weights_models(weights)
    sigmas = [0.5, 0.75, 1.0, 1.25, 1.5, 2.0]
    # Gaussian sigma chosen on a training volume
    tr = denoise_case("tseg_B_abdomen_dicom", cfg, None, 32, 160, 192, steps, lam, zeta, P, stride, sigmas, seed=100, log=log)
    best = max(tr["gaussian_psnr_by_sigma"], key=lambda k: tr["gaussian_psnr_by_sigma"][k])
    va = denoise_case("tseg_A_abdomen", cfg, base, 32, 160, 192, steps, lam, zeta, P, stride, sigmas, seed=0, log=log)
    gd = ndimage.gaussian_filter(va["ld"], float(best))
    out = {
        "task": "LDCT denoising, simulated quarter dose (projection-domain Poisson + electronic noise, FBP noise insertion, I0 = %.4g)" % calibrated_I0(),
        "validation_case": va["case"], "block_zyx": va["block_zyx"], "shape_zyx": va["shape"], "window_hu": list(EVAL_WIN),
        "sim_noise_std_hu": va["sim_noise_std_hu_body_softtissue"],
        "psnr_low_dose": va["psnr_low_dose"], "ssim_low_dose": va["ssim_low_dose"],
        "psnr_reference_sampler": va["psnr_denoised"], "ssim_reference_sampler": va["ssim_denoised"],
        "psnr_gain_reference_sampler": va["psnr_denoised"] - va["psnr_low_dose"],
        "psnr_gaussian": psnr(gd, va["fd"]), "ssim_gaussian": ssim(gd, va["fd"]),
        "gaussian_sigma_vox": float(best), "gaussian_sigma_chosen_on": "tseg_B_abdomen_dicom (training volume), same simulation",
        "gaussian_psnr_by_sigma_on_validation_for_information": va["gaussian_psnr_by_sigma"],
        "sampler": {"steps": steps, "t_sequence": va["t_sequence"], "lambda": lam, "zeta": zeta, "patch": P, "stride": stride,
                    "sigma_n_estimated": va["sigma_n_estimated"], "region": "abdomen", "seconds_pytorch_cpu_2_threads": va["sampler_seconds_pytorch_cpu"]},
        "weights_sha256": __import__("hashlib").sha256(open(weights, "rb").read()).hexdigest(),
    }
    return out, va


def eval_sr(weights, steps=10, P=32, stride=16, case="tseg_A_abdomen", log=print):
    import torch
    torch.set_num_threads(2)
    cfg, base, cn, w = load_weights_models(weights)
    hu = D.load_case(case, os.path.join(ONNX_EXPORT_DIR, ".cache"))["hu"] if case != "mayo_L067" else load_mayo()
    z0, y0_, x0_ = block(hu, 40, 96, 128)
    thin = hu[z0:z0 + 40, y0_:y0_ + 96, x0_:x0_ + 128]
    thick = thick_slices(thin, 5)
    y = D.normalize(thick, "abdomen")
    ht = slab_HT(thick, 40, 5)
    mode = sr_condition(weights)
    cond_hu = to_thin(thick, 40, 5, mode)
    anat = D.anatomy_map(cond_hu)
    region = D.REGIONS.index("abdomen")
    lin = linear_z(thick, 40, 5)
    t0 = time.time()
    x, ts = super_resolve(TorchEps(cn, batch=8), y, 40, anat, region, 5, 1.0, 1.0, 0.0, steps, 495, P, stride, cfg["pe_L"], NoiseSource(3), log=log,
                          cond=D.normalize(cond_hu, "abdomen"))
    sec = time.time() - t0
    out = D.denormalize(x, "abdomen")
    return {"task": "super-resolution 5 mm (mean of 5 slices) -> 1 mm along z", "case": case, "block_zyx": [z0, y0_, x0_],
            "shape_zyx": list(thin.shape), "window_hu": list(EVAL_WIN),
            "psnr_replicate_HT": psnr(ht, thin), "psnr_linear_z": psnr(lin, thin), "psnr_controlnet_sampler": psnr(out, thin),
            "ssim_replicate_HT": ssim(ht, thin), "ssim_linear_z": ssim(lin, thin), "ssim_controlnet_sampler": ssim(out, thin),
            "sampler": {"steps": steps, "t_sequence": ts, "sigma_n": 1.0, "lambda": 1.0, "zeta": 0.0, "patch": P, "stride": stride,
                        "seconds_pytorch_cpu_2_threads": sec}}


def linear_z(thick, n, sf):
    """Baseline: linear interpolation between thick-slice centres along z."""
    centres = np.array([min(i + sf, n) - 1 + i for i in range(0, n, sf)]) / 2.0
    z = np.arange(n)
    idx = np.clip(np.searchsorted(centres, z) - 1, 0, len(centres) - 2)
    w = np.clip((z - centres[idx]) / (centres[idx + 1] - centres[idx]), 0, 1)[:, None, None]
    return (thick[idx] * (1 - w) + thick[idx + 1] * w).astype(np.float32)


def load_mayo():
    from . import SHARED_DIR
    vol, sp = D.read_dicom_series(os.path.join(SHARED_DIR, "data", "ct", "mayo_L067_full1mm"))
    return D.resample(vol, sp)


def auroc(scores, labels):
    """Rank-based AUROC (Mann-Whitney), ties averaged."""
    from scipy.stats import rankdata
    s = np.asarray(scores, dtype=np.float64)
    l = np.asarray(labels).astype(bool)
    r = rankdata(s)
    npos, nneg = l.sum(), (~l).sum()
    return float((r[l].sum() - npos * (npos + 1) / 2) / (npos * nneg))


def eval_anomaly(weights, P=32, stride=16, n_cases=6, log=print):
    import torch
    torch.set_num_threads(2)
    cfg, base, cn, w = load_weights_models(weights)
    hu = D.load_case("tseg_A_abdomen", os.path.join(ONNX_EXPORT_DIR, ".cache"))["hu"]
    z0, y0_, x0_ = block(hu, 32, 128, 160)
    vol = hu[z0:z0 + 32, y0_:y0_ + 128, x0_:x0_ + 160]
    anat = D.anatomy_map(vol)
    roi = ndimage.binary_erosion(anat == 3, iterations=3)
    region = D.REGIONS.index("abdomen")
    pix_s, pix_l, img_s, img_l = [], [], [], []
    for k in range(n_cases):
        has = k % 2 == 0
        if has:
            v, m, les = insert_lesions(vol, roi, n=2, radius_mm=(4.0, 7.0), contrast_hu=(-80.0, -40.0), seed=k)
        else:
            v, m = vol, np.zeros(vol.shape, np.uint8)
        x0 = D.normalize(v, "abdomen")
        amap, x0p, score = anomaly(TorchEps(base, batch=8), x0, D.anatomy_map(v), region, roi.astype(np.float32), 950, P, stride,
                                   cfg["pe_L"], NoiseSource(50 + k))
        pix_s.append(amap[roi]); pix_l.append(m[roi] > 0)
        img_s.append(score); img_l.append(has)
        log(f"anomaly case {k} lesion={has} score={score:.4f}")
    return {"task": "anomaly map at t = 950 (one evaluation), synthetic hypodense lesions (-80..-40 HU, r 4-7 mm) in soft tissue of the validation block",
            "case": "tseg_A_abdomen", "block_zyx": [z0, y0_, x0_], "n_volumes": n_cases, "roi": "anatomy class soft_tissue eroded 3 voxels",
            "pixel_auroc": auroc(np.concatenate(pix_s), np.concatenate(pix_l)),
            "image_auroc": auroc(img_s, img_l), "note": "only 6 volumes (3 with lesions): the image AUROC is not statistically meaningful",
            "image_scores": img_s, "image_labels": img_l, "score": "q99 of the map inside the ROI"}


def eval_timing(threads=2):
    from . import ortjava
    from .posembed import patch_pe
    res = {}
    for name, cn in (("meddiff-fm-base", False), ("meddiff-fm-sr-controlnet", True)):
        p = os.path.join(MODELS_DIR, name + ".onnx")
        card = json.load(open(p.replace(".onnx", ".card.json")))
        L = card["pe_L"]
        for P in (32, 64):
            rng = np.random.default_rng(0)
            inp = {"x_t": rng.standard_normal((1, 1, P, P, P)).astype(np.float32), "t": np.array([500.0], np.float32),
                   "pos_embed": patch_pe((P, P, P), (0, 0, 0), (P, P, P), L)[None], "anatomy": np.full((1, 1, P, P, P), 3.0, np.float32),
                   "region": np.array([2], np.int64)}
            if cn:
                inp["condition"] = rng.standard_normal((1, 1, P, P, P)).astype(np.float32)
            _, sec, _ = ortjava.run(p, inp, threads=threads, reps=3)
            res.setdefault(name, {})[f"{P}^3"] = sec
    return res


def _strip(d):
    return {k: v for k, v in d.items() if not isinstance(v, np.ndarray)}


def main(argv=None):
    ap = argparse.ArgumentParser()
    ap.add_argument("--weights")
    ap.add_argument("--task", required=True, choices=["denoise", "sr", "sr-mayo", "anomaly", "timing"])
    ap.add_argument("--steps", type=int, default=10)
    ap.add_argument("--update-cards", action="store_true")
    a = ap.parse_args(argv)
    cmd = "/usr/bin/python3 -m meddiff.evaluate " + " ".join(sys.argv[1:] if argv is None else argv)
    os.makedirs(RUNS, exist_ok=True)
    t0 = time.time()
    log = lambda s: print(time.strftime("%H:%M:%S"), s, flush=True)
    if a.task == "denoise":
        res, va = eval_denoise(a.weights, steps=a.steps, log=log)
        np.save(os.path.join(RUNS, "denoise_val_fd_ld_dn.npy"), np.stack([va["fd"], va["ld"], va["denoised_hu"]]))
        targets, key = ["meddiff-fm-base"], "ldct_denoising"
    elif a.task in ("sr", "sr-mayo"):
        res = eval_sr(a.weights, steps=a.steps, case="tseg_A_abdomen" if a.task == "sr" else "mayo_L067", log=log)
        if a.task == "sr-mayo":
            res["note"] = "Mayo L067 full dose 1 mm (internal evaluation only; never trained on, not redistributed)"
        targets, key = ["meddiff-fm-sr-controlnet"], "super_resolution" if a.task == "sr" else "super_resolution_mayo_L067"
    elif a.task == "anomaly":
        res = eval_anomaly(a.weights, log=log)
        targets, key = ["meddiff-fm-base"], "anomaly"
    else:
        res = eval_timing()
        res = {"ort_java_1.29_cpu_2_threads_seconds_per_forward_batch1": res, "machine": "2 shared CPU cores (other builds running)"}
        targets, key = ["meddiff-fm-base", "meddiff-fm-sr-controlnet"], "timing"
    res = _strip(res)
    res["command"] = cmd
    res["seconds"] = time.time() - t0
    with open(os.path.join(RUNS, f"eval_{a.task}.json"), "w") as f:
        json.dump(res, f, indent=1, default=float)
    print(json.dumps(res, indent=1, default=float))
    if a.update_cards:
        from .export import update_card
        for t in targets:
            p = os.path.join(MODELS_DIR, t + ".onnx")
            if os.path.exists(p):
                update_card(p, {"evaluation": {key: json.loads(json.dumps(res, default=float))}})


if __name__ == "__main__":
    main()
