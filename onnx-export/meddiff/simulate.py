"""Evaluation-side simulation: low-dose CT by noise insertion in the projection domain,
thick slices by slab averaging, hypodense lesion insertion with ground-truth masks.

Low-dose method (per axial slice, parallel beam, skimage radon/iradon):
  mu = MU_WATER * (1 + HU / 1000)   (mu_water = 0.0192 /mm, ~ 70 keV effective), mu >= 0
  p  = radon(mu) * pixel_mm          line integrals, N_ANGLES views over 180 deg
  counts = Poisson(I0 * d * exp(-p)) + N(0, SIGMA_E^2), clipped to >= 1
  p_ld = -log(counts / (I0 * d))
  HU_ld = HU + 1000 / MU_WATER * FBP_ramp(p_ld - p) / pixel_mm
The full-dose image is treated as noiseless; only the noise is reconstructed and added (noise
insertion, as in the Mayo quarter-dose data), so FBP discretisation does not bias the image.
I0 is calibrated (configs/lowdose_calibration.json, meddiff.calibrate) so that d = 0.25 gives
the HU noise std measured on the real Mayo L506 quarter/full-dose pairs.
"""
import json
import os
import numpy as np

MU_WATER = 0.0192  # 1/mm
N_ANGLES = 360
SIGMA_E = 5.0       # electronic noise, counts
CALIB_PATH = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "configs", "lowdose_calibration.json")


def calibrated_I0():
    with open(CALIB_PATH) as f:
        return float(json.load(f)["I0"])


def _pad_square(img, fill):
    n = int(np.ceil(np.sqrt(2) * max(img.shape))) + 2
    out = np.full((n, n), fill, dtype=np.float64)
    oy, ox = (n - img.shape[0]) // 2, (n - img.shape[1]) // 2
    out[oy:oy + img.shape[0], ox:ox + img.shape[1]] = img
    return out, (oy, ox)


def low_dose_slice(hu, dose, I0, rng, pixel_mm=1.0, sigma_e=SIGMA_E, n_angles=N_ANGLES):
    from skimage.transform import radon, iradon
    mu, (oy, ox) = _pad_square(np.maximum(MU_WATER * (1.0 + hu.astype(np.float64) / 1000.0), 0.0), 0.0)
    theta = np.linspace(0.0, 180.0, n_angles, endpoint=False)
    p = radon(mu, theta=theta, circle=True) * pixel_mm
    lam = I0 * dose * np.exp(-p)
    counts = rng.poisson(lam).astype(np.float64) + rng.normal(0.0, sigma_e, size=lam.shape)
    counts = np.maximum(counts, 1.0)
    p_ld = -np.log(counts / (I0 * dose))
    noise_mu = iradon(p_ld - p, theta=theta, filter_name="ramp", circle=True, output_size=mu.shape[0]) / pixel_mm
    noise_hu = noise_mu[oy:oy + hu.shape[0], ox:ox + hu.shape[1]] * 1000.0 / MU_WATER
    return (hu + noise_hu).astype(np.float32)


def low_dose(hu_vol, dose=0.25, I0=None, seed=0, pixel_mm=1.0):
    """Slice-by-slice low-dose simulation of a [D,H,W] HU volume (independent noise per slice)."""
    I0 = calibrated_I0() if I0 is None else I0
    rng = np.random.default_rng(seed)
    return np.stack([low_dose_slice(s, dose, I0, rng, pixel_mm) for s in hu_vol]).astype(np.float32)


def thick_slices(hu_vol, sf=5):
    """5 mm slices from 1 mm ones: average of sf consecutive slices (last partial slab = rest)."""
    n = hu_vol.shape[0]
    return np.stack([hu_vol[i:i + sf].mean(axis=0) for i in range(0, n, sf)]).astype(np.float32)


def insert_lesions(hu_vol, region_mask, n=3, radius_mm=(3.0, 8.0), contrast_hu=(-60.0, -25.0), seed=0,
                   spacing=(1.0, 1.0, 1.0), edge_mm=1.0):
    """Hypodense ellipsoids with a smooth (logistic, edge_mm) boundary, centred inside
    region_mask (e.g. soft tissue / liver). Returns (hu_with_lesions, mask uint8, list of lesions)."""
    rng = np.random.default_rng(seed)
    out = hu_vol.astype(np.float32).copy()
    mask = np.zeros(hu_vol.shape, dtype=np.uint8)
    cand = np.argwhere(region_mask)
    zz, yy, xx = [np.arange(n_) * s for n_, s in zip(hu_vol.shape, spacing)]
    lesions = []
    for k in range(n):
        if len(cand) == 0:
            break
        c = cand[int(rng.integers(0, len(cand)))] * np.array(spacing)
        r = rng.uniform(*radius_mm, size=3)
        dc = rng.uniform(*contrast_hu)
        d = np.sqrt(((zz[:, None, None] - c[0]) / r[0]) ** 2 + ((yy[None, :, None] - c[1]) / r[1]) ** 2 +
                    ((xx[None, None, :] - c[2]) / r[2]) ** 2)
        w = 1.0 / (1.0 + np.exp((d - 1.0) * float(np.mean(r)) / edge_mm))
        out += (dc * w).astype(np.float32)
        mask[(d <= 1.0) & region_mask] = 1
        lesions.append({"center_mm": c.tolist(), "radii_mm": r.tolist(), "contrast_hu": float(dc)})
    return out, mask, lesions


def noise_std_hu(ld, fd, roi):
    return float(np.std((ld - fd)[roi]))
