"""Evaluation set for the Java evaluation command (bin/evaluate, org.meddiff.gateway.tools.Evaluation).

  cd onnx-export && /usr/bin/python3 -m meddiff.export_eval_volumes --out ../data/eval

Writes raw little-endian float32 volumes ([z][y][x], x fastest) plus index.json into --out
(git-ignored data/: the CT comes from /work/shared and is never copied into the repository).
Same cases and simulation as meddiff.evaluate, with smaller blocks so that the Java samplers run in
minutes on 2 CPU cores:

  denoise/   validation tseg_A_abdomen (never trained on): central block, quarter dose simulated in the
             projection domain (meddiff.simulate.low_dose, calibrated I0, seed 0); full-dose target.
  train/     training volume tseg_B_abdomen_dicom, same simulation (seed 100): ONLY for tuning the
             baselines' parameters (Gaussian sigma, non-local-means h) once.
  sr/        validation block at 1 mm (thin target) and 5 mm slabs (mean of 5 slices, simulate.thick_slices).
  anomaly/   validation block; 6 volumes, even ones with 2 inserted hypodense lesions (simulate.insert_lesions,
             -80..-40 HU, r 4-7 mm, seeds = volume index), masks, and the ROI (soft tissue eroded 3 voxels).
  anomaly_train/  the same on the training volume tseg_B (4 volumes, seeds 100 + index): ONLY for choosing the
             anomaly-map settings (t, smoothing) once, before the held-out figures.
  real/      real lesions with expert masks: the IBSI soft-tissue sarcoma cases (CT + GTV mask), a block centred
             on the tumour, the ROI = soft tissue (eroded 1 voxel) plus the tumour. These volumes are in the
             TRAINING split of the shipped model (the only real lesion masks in the shared data), so this is a
             sanity check that a real lesion scores as anomalous, not a held-out figure.
  ldct/      REAL quarter-dose / full-dose pairs (Mayo 2016 Grand Challenge patient L506, 3 mm slices, never trained
             on; ../shared/data/ldct, internal testing only): the central 256x256 pixels of each slice in HU on the
             native grid (pixel ~0.74 mm, not stored in the files). Pair L506_18 is ONLY for tuning the baselines
             on real noise; the other four are scored.
  lesion/    (--lesion-case IMAGE MASK, repeatable) a site's own CT with a lesion mask, e.g. a held-out case:
             written like real/ with split "held_out" and scored under its own heading.
All grids are 1 mm isotropic (load_case resamples), except the thick SR input (5 mm along z) and ldct/.

--add ldct / --add lesions writes only that part into an existing index.json (bin/evaluate does so on demand).
"""
import argparse
import json
import os
import sys
import time

import numpy as np
from scipy import ndimage

from . import ONNX_EXPORT_DIR, SHARED_DIR
from . import data as D
from .evaluate import block
from .simulate import low_dose, thick_slices, insert_lesions, calibrated_I0

VALIDATION = "tseg_A_abdomen"
TRAINING = "tseg_B_abdomen_dicom"


def _write(out, rel, arr, index, **meta):
    a = np.ascontiguousarray(arr, dtype="<f4")
    path = os.path.join(out, rel)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    a.tofile(path)
    index["volumes"][rel.replace(".f32", "")] = dict({"file": rel, "shape_zyx": list(a.shape)}, **meta)


def main(argv=None):
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", default=os.path.join(ONNX_EXPORT_DIR, "..", "data", "eval"))
    ap.add_argument("--cache", default=os.path.join(ONNX_EXPORT_DIR, ".cache"))
    ap.add_argument("--denoise-block", default="48,96,96", help="z,y,x of the validation denoising block (more than one 32-voxel "
                    "patch along z, so that the sliding window overlaps along every axis)")
    ap.add_argument("--train-block", default="16,96,96", help="z,y,x of the training block (baseline tuning)")
    ap.add_argument("--sr-block", default="40,96,96")
    ap.add_argument("--anomaly-block", default="32,96,96")
    ap.add_argument("--anomaly-volumes", type=int, default=6)
    ap.add_argument("--anomaly-train-volumes", type=int, default=4)
    ap.add_argument("--real-block", default="32,160,160", help="z,y,x of the real-lesion blocks (centred on the lesion)")
    ap.add_argument("--ldct-crop", type=int, default=256, help="side in pixels of the central crop of the real LDCT pairs")
    ap.add_argument("--lesion-case", nargs=2, action="append", metavar=("IMAGE", "MASK"), default=[],
                    help="a CT (NIfTI, NRRD or a DICOM folder) and its lesion mask on the same grid; repeatable")
    ap.add_argument("--add", choices=["ldct", "lesions"], help="write only this part into the existing index.json of --out")
    a = ap.parse_args(argv)
    if a.add:
        return add_part(a)
    if not os.path.isdir(SHARED_DIR):
        print(f"export_eval_volumes: shared data folder {SHARED_DIR} is absent (set MEDDIFF_SHARED_DIR); nothing exported.")
        return 0
    t0 = time.time()
    out = os.path.abspath(a.out)
    os.makedirs(out, exist_ok=True)
    blk = lambda s: [int(v) for v in s.split(",")]
    index = {"created_utc": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), "byte_order": "little-endian float32, [z][y][x]",
             "spacing_mm_zyx": [1.0, 1.0, 1.0], "validation_case": VALIDATION, "training_case": TRAINING,
             "source": "TotalSegmentator test CTs from the shared data folder (see /work/shared/data/ct/SOURCES.md); not redistributed",
             "low_dose": "quarter dose, projection-domain Poisson + electronic noise, FBP noise insertion, I0 = %.4g" % calibrated_I0(),
             "volumes": {}}

    def simulate(name, dz, hy, wx, seed):
        hu = D.load_case(name, a.cache)["hu"]
        z0, y0, x0 = block(hu, dz, hy, wx)
        full = hu[z0:z0 + dz]
        ld = low_dose(full, 0.25, seed=seed, roi=(y0, x0, hy, wx))
        fd = full[:, y0:y0 + hy, x0:x0 + wx]
        return fd, ld, [z0, y0, x0]

    dz, hy, wx = blk(a.denoise_block)
    fd, ld, origin = simulate(VALIDATION, dz, hy, wx, seed=0)
    _write(out, "denoise/full_dose.f32", fd, index, case=VALIDATION, block_zyx=origin)
    _write(out, "denoise/low_dose.f32", ld, index, case=VALIDATION, block_zyx=origin, seed=0)
    print(f"denoise: {VALIDATION} block {origin} {fd.shape}, noise std (body soft tissue) "
          f"{np.std((ld - fd)[(fd > -200) & (fd < 200)]):.1f} HU", flush=True)

    dz, hy, wx = blk(a.train_block)
    fd, ld, origin = simulate(TRAINING, dz, hy, wx, seed=100)
    _write(out, "train/full_dose.f32", fd, index, case=TRAINING, block_zyx=origin)
    _write(out, "train/low_dose.f32", ld, index, case=TRAINING, block_zyx=origin, seed=100)
    print(f"train: {TRAINING} block {origin} {fd.shape}", flush=True)

    hu = D.load_case(VALIDATION, a.cache)["hu"]
    dz, hy, wx = blk(a.sr_block)
    z0, y0, x0 = block(hu, dz, hy, wx)
    thin = hu[z0:z0 + dz, y0:y0 + hy, x0:x0 + wx]
    _write(out, "sr/thin.f32", thin, index, case=VALIDATION, block_zyx=[z0, y0, x0])
    _write(out, "sr/thick5mm.f32", thick_slices(thin, 5), index, case=VALIDATION, spacing_mm_zyx=[5.0, 1.0, 1.0],
           note="slab i = mean of thin slices 5i..5i+4; its centre is thin slice 5i+2")
    print(f"sr: block {[z0, y0, x0]} {thin.shape}", flush=True)

    def anomaly_set(case, folder, n_volumes, seed0, key):
        hu_ = D.load_case(case, a.cache)["hu"]
        dz, hy, wx = blk(a.anomaly_block)
        z0, y0, x0 = block(hu_, dz, hy, wx)
        vol = hu_[z0:z0 + dz, y0:y0 + hy, x0:x0 + wx]
        roi = ndimage.binary_erosion(D.anatomy_map(vol) == 3, iterations=3)
        _write(out, f"{folder}/roi.f32", roi, index, case=case, block_zyx=[z0, y0, x0], note="soft tissue eroded 3 voxels")
        cases = []
        for k in range(n_volumes):
            has = k % 2 == 0
            if has:
                v, m, les = insert_lesions(vol, roi, n=2, radius_mm=(4.0, 7.0), contrast_hu=(-80.0, -40.0), seed=seed0 + k)
            else:
                v, m, les = vol, np.zeros(vol.shape, np.uint8), []
            _write(out, f"{folder}/volume_{k}.f32", v, index, lesion=has, lesions=les)
            _write(out, f"{folder}/mask_{k}.f32", m, index)
            cases.append({"volume": f"{folder}/volume_{k}", "mask": f"{folder}/mask_{k}", "lesion": has})
        index[key] = cases
        index[key.replace("_cases", "_roi")] = f"{folder}/roi"
        print(f"{folder}: {case} block {[z0, y0, x0]} {vol.shape}, {n_volumes} volumes", flush=True)

    anomaly_set(VALIDATION, "anomaly", a.anomaly_volumes, 0, "anomaly_cases")
    anomaly_set(TRAINING, "anomaly_train", a.anomaly_train_volumes, 100, "anomaly_train_cases")

    real = [lesion_case(out, index, case, os.path.join(SHARED_DIR, "data", "ct", "ibsi_sts", folder, "CT_image.nii.gz"),
                        os.path.join(SHARED_DIR, "data", "ct", "ibsi_sts", folder, "CT_mask.nii.gz"), folder, "train", blk(a.real_block))
            for case, folder in [("ibsi_STS_004", "STS_004"), ("ibsi_STS_014", "STS_014"), ("ibsi_STS_031", "STS_031")]]
    index["real_lesion_cases"] = real
    ldct_pairs(out, index, a.ldct_crop)
    if a.lesion_case:
        lesion_cases(out, index, a)
    index["seconds"] = time.time() - t0
    with open(os.path.join(out, "index.json"), "w") as f:
        json.dump(index, f, indent=1)
    print(f"wrote {out}/index.json in {index['seconds']:.0f} s")
    return 0


def lesion_case(out, index, case, image, mask, folder, split, block_zyx):
    """A block centred on the lesion at 1 mm, its mask and the ROI (soft tissue eroded 1 voxel, plus the lesion)."""
    img, sp = _read(image, "image")
    msk, msp = _read(mask, "mask")
    if img.shape != msk.shape or not np.allclose(sp, msp, rtol=1e-3):
        raise SystemExit(f"export_eval_volumes: {mask}: mask grid {msk.shape} at {tuple(round(x, 3) for x in msp)} mm differs from "
                         f"the image's {img.shape} at {tuple(round(x, 3) for x in sp)} mm ({image})")
    hu = D.resample(img, sp)
    lesion = D.resample((msk > 0).astype(np.float32), msp) > 0.5
    if not lesion.any():
        raise SystemExit(f"export_eval_volumes: {mask}: the lesion mask is empty")
    dz, hy, wx = block_zyx
    dz = min(dz, hu.shape[0])
    hy, wx = min(hy, hu.shape[1] // 8 * 8), min(wx, hu.shape[2] // 8 * 8)
    cz, cy, cx = [int(np.mean(i)) for i in np.nonzero(lesion)]
    z0 = int(np.clip(cz - dz // 2, 0, hu.shape[0] - dz))
    y0 = int(np.clip(cy - hy // 2, 0, hu.shape[1] - hy))
    x0 = int(np.clip(cx - wx // 2, 0, hu.shape[2] - wx))
    sl = (slice(z0, z0 + dz), slice(y0, y0 + hy), slice(x0, x0 + wx))
    v, m = hu[sl], lesion[sl]
    roi = ndimage.binary_erosion(D.anatomy_map(v) == 3, iterations=1) | m
    _write(out, f"{split_folder(split)}/{folder}_volume.f32", v, index, case=case, block_zyx=[z0, y0, x0], split=split, source=image)
    _write(out, f"{split_folder(split)}/{folder}_mask.f32", m, index, note="lesion mask, resampled to 1 mm", source=mask)
    _write(out, f"{split_folder(split)}/{folder}_roi.f32", roi, index, note="soft tissue eroded 1 voxel, plus the lesion")
    print(f"real lesion ({split}): {case} block {[z0, y0, x0]} {v.shape}, lesion {int(m.sum())} voxels", flush=True)
    return {"case": case, "volume": f"{split_folder(split)}/{folder}_volume", "mask": f"{split_folder(split)}/{folder}_mask",
            "roi": f"{split_folder(split)}/{folder}_roi", "split": split, "tumour_voxels_in_block": int(m.sum())}


def _read(path, what):
    try:
        return D.read_volume(path)
    except Exception as e:  # a reader's own error (IndexError for an empty folder, ...) without the file's name
        raise SystemExit(f"export_eval_volumes: {path}: cannot read the {what}: {type(e).__name__}: {e}")


def split_folder(split):
    return "real" if split == "train" else "lesion"


def lesion_cases(out, index, a):
    """--lesion-case pairs: held-out real lesions (the case name is the image's file or folder name)."""
    # earlier cases stay (a second call adds to them); the same image again replaces its own entry
    cases = [c for c in index.get("lesion_cases_held_out", [])
             if index["volumes"].get(c["volume"], {}).get("source") not in {im for im, _ in a.lesion_case}]
    used = {c["volume"] for c in index.get("lesion_cases_held_out", [])}
    k = 0
    for image, mask in a.lesion_case:
        while f"lesion/case{k}_volume" in used:
            k += 1
        used.add(f"lesion/case{k}_volume")
        name = os.path.basename(os.path.normpath(image)).replace(".nii.gz", "").replace(".nii", "").replace(".nrrd", "")
        cases.append(lesion_case(out, index, name, image, mask, f"case{k}", "held_out", [int(v) for v in a.real_block.split(",")]))
    index["lesion_cases_held_out"] = cases


LDCT_DIR = os.path.join(SHARED_DIR, "data", "ldct", "ctformer_L506")
LDCT_TUNE = "L506_18"


def ldct_pairs(out, index, crop):
    """The real Mayo L506 quarter/full-dose slices (values v in [0, 1]; HU = 4096 v - 1024), central crop."""
    names = sorted({os.path.basename(f)[:-len("_input.npy")] for f in os.listdir(LDCT_DIR) if f.endswith("_input.npy")}) \
        if os.path.isdir(LDCT_DIR) else []
    if LDCT_TUNE not in names:
        print(f"ldct: no real pairs in {LDCT_DIR}; skipped", flush=True)
        index["ldct_real_pairs"] = None  # recorded as absent, so bin/evaluate does not look again on every run
        return
    pairs = []
    for n in names:
        qd, fd = (np.load(os.path.join(LDCT_DIR, f"{n}_{k}.npy")) * 4096.0 - 1024.0 for k in ("input", "target"))
        if crop > min(qd.shape):
            raise SystemExit(f"export_eval_volumes: --ldct-crop {crop} is larger than the {qd.shape} slices of {n}")
        y0, x0 = (qd.shape[0] - crop) // 2, (qd.shape[1] - crop) // 2
        qd, fd = (v[None, y0:y0 + crop, x0:x0 + crop] for v in (qd, fd))
        _write(out, f"ldct/{n}_quarter.f32", qd, index, case=n, crop_yx=[y0, x0], dose="quarter")
        _write(out, f"ldct/{n}_full.f32", fd, index, case=n, crop_yx=[y0, x0], dose="full")
        pairs.append(n)
        print(f"ldct: {n} crop {[y0, x0]} {qd.shape}, std(QD - FD) {np.std(qd - fd):.1f} HU", flush=True)
    index["ldct_real_pairs"] = {"tune": LDCT_TUNE, "evaluate": [n for n in pairs if n != LDCT_TUNE], "pixel_mm": 0.74,
                                "slice_mm": 3.0, "source": "Mayo 2016 Grand Challenge L506 (../shared/data/ldct/SOURCES.md), "
                                "3 mm B30 slices; pixel spacing assumed 0.74 mm (not stored)"}


def add_part(a):
    out = os.path.abspath(a.out)
    path = os.path.join(out, "index.json")
    if not os.path.isfile(path):
        raise SystemExit(f"export_eval_volumes: --add needs an existing {path} (run without --add first)")
    with open(path) as f:
        index = json.load(f)
    if a.add == "ldct":
        ldct_pairs(out, index, a.ldct_crop)
    else:
        if not a.lesion_case:
            raise SystemExit("export_eval_volumes: --add lesions needs at least one --lesion-case IMAGE MASK")
        lesion_cases(out, index, a)
    with open(path, "w") as f:
        json.dump(index, f, indent=1)
    print(f"updated {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
