"""Evaluation-side simulation: low-dose CT by noise insertion in the projection domain,
thick slices by slab averaging, hypodense lesion insertion with ground-truth masks.

Low-dose method (per axial slice, parallel beam; own pixel-driven projector + ramp FBP, numpy):
  mu = MU_WATER * (1 + HU / 1000)   (mu_water = 0.0192 /mm, ~ 70 keV effective), mu >= 0
  p  = P(mu) * pixel_mm              line integrals, N_ANGLES views over 180 deg (air < -950 HU -> mu 0)
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


def _geometry(shape, n_angles):
    H, W = shape
    ys = (np.arange(H) - (H - 1) / 2.0)[:, None]
    xs = (np.arange(W) - (W - 1) / 2.0)[None, :]
    n_det = int(np.ceil(np.hypot(H, W))) + 3
    theta = np.pi * np.arange(n_angles) / n_angles
    return xs, ys, n_det, theta


def forward_project(img, n_angles=N_ANGLES):
    """Pixel-driven parallel-beam projector: line integrals in pixel units, [n_det, n_angles];
    detector coordinate t = x cos(theta) + y sin(theta) (pixel units, centre bin n_det // 2)."""
    xs, ys, n_det, theta = _geometry(img.shape, n_angles)
    v = img.ravel()
    nz = v != 0
    v = v[nz]
    c = n_det // 2
    out = np.zeros((n_det, n_angles))
    X = np.broadcast_to(xs, img.shape).ravel()[nz]
    Y = np.broadcast_to(ys, img.shape).ravel()[nz]
    for k, th in enumerate(theta):
        t = X * np.cos(th) + Y * np.sin(th) + c
        i0 = np.floor(t).astype(np.int64)
        w = t - i0
        out[:, k] = np.bincount(i0, v * (1 - w), n_det) + np.bincount(i0 + 1, v * w, n_det)[:n_det]
    return out


def ramp_filter(sino):
    """Ram-Lak filter (spatial-domain derived, as skimage.transform.iradon 'ramp')."""
    n = sino.shape[0]
    size = max(64, int(2 ** np.ceil(np.log2(2 * n))))
    nn = np.concatenate((np.arange(1, size / 2 + 1, 2, dtype=int), np.arange(size / 2 - 1, 0, -2, dtype=int)))
    f = np.zeros(size)
    f[0] = 0.25
    f[1::2] = -1 / (np.pi * nn) ** 2
    ff = 2 * np.real(np.fft.fft(f))
    pad = np.zeros((size, sino.shape[1]))
    pad[:n] = sino
    return np.real(np.fft.ifft(np.fft.fft(pad, axis=0) * ff[:, None], axis=0))[:n]


def fbp(sino, shape, roi=None):
    """Filtered back-projection matching forward_project (result in 1/pixel units of the input).
    roi = (y0, x0, h, w): reconstruct only that box of the image grid."""
    n_det, n_angles = sino.shape
    xs, ys, n_det2, theta = _geometry(shape, n_angles)
    if roi is not None:
        y0, x0, h, w = roi
        ys, xs = ys[y0:y0 + h], xs[:, x0:x0 + w]
        shape = (h, w)
    xs, ys = xs.astype(np.float32), ys.astype(np.float32)
    filt = ramp_filter(sino).astype(np.float32)
    c = n_det // 2
    out = np.zeros(shape, dtype=np.float64)
    for k, th in enumerate(theta):
        t = xs * np.cos(th) + ys * np.sin(th) + c
        i0 = np.clip(np.floor(t).astype(np.int64), 0, n_det - 2)
        w = t - i0
        out += filt[i0, k] * (1 - w) + filt[i0 + 1, k] * w
    return out * np.pi / (2 * n_angles)


def low_dose_slice(hu, dose, I0, rng, pixel_mm=1.0, sigma_e=SIGMA_E, n_angles=N_ANGLES, roi=None):
    mu = np.maximum(MU_WATER * (1.0 + hu.astype(np.float64) / 1000.0), 0.0)
    mu[hu < -950] = 0.0  # air: skip (also speeds up the projector)
    p = forward_project(mu, n_angles) * pixel_mm
    lam = I0 * dose * np.exp(-p)
    counts = rng.poisson(lam).astype(np.float64) + rng.normal(0.0, sigma_e, size=lam.shape)
    counts = np.maximum(counts, 1.0)
    p_ld = -np.log(counts / (I0 * dose))
    noise_mu = fbp(p_ld - p, hu.shape, roi) / pixel_mm
    if roi is not None:
        hu = hu[roi[0]:roi[0] + roi[2], roi[1]:roi[1] + roi[3]]
    return (hu + noise_mu * 1000.0 / MU_WATER).astype(np.float32)


def low_dose(hu_vol, dose=0.25, I0=None, seed=0, pixel_mm=1.0, roi=None):
    """Slice-by-slice low-dose simulation of a [D,H,W] HU volume (independent noise per slice).
    Whole slices are projected; roi = (y0, x0, h, w) returns only that in-plane box."""
    I0 = calibrated_I0() if I0 is None else I0
    rng = np.random.default_rng(seed)
    return np.stack([low_dose_slice(s, dose, I0, rng, pixel_mm, roi=roi) for s in hu_vol]).astype(np.float32)


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
