"""Reference whole-volume samplers (numpy + any epsilon function), bit-reproducible given the
noise arrays. The exact arithmetic is specified in README.md ("Sampler specification"); the
Java implementation is tested against golden files produced by this code.

All volumes are float32 [D, H, W] in the normalized window scale; coefficients are computed in
float64 from the alpha_bar table and applied to float32 arrays.
"""
import math
import numpy as np
import torch

from .schedule import cosine_alpha_bar, t_from_sigma, skip_sequence
from .posembed import patch_pe


class NoiseSource:
    """Explicit noise: either a list of pre-made arrays (consumed in order) or a seeded numpy
    PCG64 generator (standard_normal, float32). Every array handed out is recorded."""

    def __init__(self, seed=None, arrays=None):
        self.arrays = list(arrays) if arrays is not None else None
        self.rng = np.random.default_rng(seed) if arrays is None else None
        self.used = []

    def next(self, shape):
        if self.arrays is not None:
            a = np.asarray(self.arrays.pop(0), dtype=np.float32)
            assert a.shape == tuple(shape), (a.shape, shape)
        else:
            a = self.rng.standard_normal(shape, dtype=np.float32)
        self.used.append(a)
        return a


def grid_positions(n, P, stride):
    """0, stride, 2 stride, ... while <= n - P, plus a border-flush n - P if not already there."""
    if n < P:
        raise ValueError(f"volume dimension {n} < patch size {P}: pad the volume first")
    pos = list(range(0, n - P + 1, stride))
    if pos[-1] != n - P:
        pos.append(n - P)
    return pos


def patch_grid(shape, P, stride):
    """All patch offsets, z-major then y then x (C order)."""
    return [(z, y, x) for z in grid_positions(shape[0], P, stride)
            for y in grid_positions(shape[1], P, stride)
            for x in grid_positions(shape[2], P, stride)]


class TorchEps:
    """Epsilon function backed by a PyTorch module (MedDiffUNet or ControlNetSR)."""

    def __init__(self, model, batch=4):
        self.model = model.eval()
        self.batch = batch

    def __call__(self, x_t, t, pe, anat, region, cond=None):
        outs = []
        dev = next(self.model.parameters()).device
        with torch.no_grad():
            for i in range(0, x_t.shape[0], self.batch):
                sl = slice(i, i + self.batch)
                n = x_t[sl].shape[0]
                args = [torch.from_numpy(x_t[sl]), torch.full((n,), float(t)), torch.from_numpy(pe[sl]),
                        torch.from_numpy(anat[sl]), torch.full((n,), int(region), dtype=torch.int64)]
                if cond is not None:
                    args.append(torch.from_numpy(cond[sl]))
                outs.append(self.model(*[a.to(dev) for a in args]).cpu().numpy())
        return np.concatenate(outs).astype(np.float32)


def sliding_eps(eps_fn, x, t, anat, region, P, stride, L, cond=None):
    """Smoothed noise estimate: average of the patch estimates over overlapping voxels."""
    shape = x.shape
    offs = patch_grid(shape, P, stride)
    acc = np.zeros(shape, dtype=np.float32)
    cnt = np.zeros(shape, dtype=np.float32)
    cut = lambda a, o: a[o[0]:o[0] + P, o[1]:o[1] + P, o[2]:o[2] + P]
    xs = np.stack([cut(x, o) for o in offs])[:, None]
    pes = np.stack([patch_pe(shape, o, (P, P, P), L) for o in offs])
    an = np.stack([cut(anat, o) for o in offs])[:, None]
    cs = None if cond is None else np.stack([cut(cond, o) for o in offs])[:, None]
    eps = eps_fn(np.ascontiguousarray(xs), t, pes, np.ascontiguousarray(an), region,
                 None if cs is None else np.ascontiguousarray(cs))
    for k, o in enumerate(offs):  # accumulate in this order
        sl = (slice(o[0], o[0] + P), slice(o[1], o[1] + P), slice(o[2], o[2] + P))
        acc[sl] += eps[k, 0]
        cnt[sl] += 1.0
    return (acc / cnt).astype(np.float32)


def f32(v):
    return np.float32(v)


def x0_from_eps(x, eps, a):
    x0 = (x - f32(math.sqrt(1.0 - a)) * eps) / f32(math.sqrt(a))
    return np.clip(x0, -1.0, 1.0).astype(np.float32)


def diffpir_step_next(x, x0h, a, a_prev, zeta, noise):
    e = (x - f32(math.sqrt(a)) * x0h) / f32(math.sqrt(1.0 - a))
    if zeta > 0:
        z = noise.next(x.shape)
        mix = f32(math.sqrt(1.0 - zeta)) * e + f32(math.sqrt(zeta)) * z
    else:
        mix = e
    return (f32(math.sqrt(a_prev)) * x0h + f32(math.sqrt(1.0 - a_prev)) * mix).astype(np.float32)


def slab_H(x, sf):
    n = x.shape[0]
    return np.stack([x[i:i + sf].mean(axis=0, dtype=np.float32) for i in range(0, n, sf)]).astype(np.float32)


def slab_HT(y, n, sf):
    return np.repeat(y, sf, axis=0)[:n].astype(np.float32)


def denoise(eps_fn, y0, anat, region, sigma_n, lam=10.0, zeta=0.0, steps=10, P=32, stride=16, L=4,
            noise=None, alpha_bar=None, log=None, trace=None, t_end=0):
    """DiffPIR denoising (H = identity), t_start from sigma_n. t_end > 0 (a variant tried in meddiff.tune, not a
    gateway setting): drop the steps below t_end and return the data-step estimate of the last one kept."""
    ab = cosine_alpha_bar() if alpha_bar is None else alpha_bar
    noise = noise or NoiseSource(0)
    t0 = t_from_sigma(ab, sigma_n)
    ts = [t for t in skip_sequence(t0, steps) if t >= t_end]
    x = (f32(math.sqrt(ab[t0])) * y0).astype(np.float32)
    for i, t in enumerate(ts):
        a = float(ab[t])
        tp = ts[i + 1] if i + 1 < len(ts) else -1
        eps = sliding_eps(eps_fn, x, t, anat, region, P, stride, L)
        x0t = x0_from_eps(x, eps, a)
        rho = lam * sigma_n ** 2 / ((1.0 - a) / a)
        x0h = ((y0 + f32(rho) * x0t) / f32(1.0 + rho)).astype(np.float32)
        if trace is not None:
            trace.append({"t": t, "t_prev": tp, "rho": rho})
        if tp < 0:
            x = x0h
        else:
            x = diffpir_step_next(x, x0h, a, float(ab[tp]), zeta, noise)
        if log:
            log(f"denoise step {i + 1}/{len(ts)} t={t}")
    return x, ts


def super_resolve(eps_fn, y_thick, n_thin, anat, region, sf=5, sigma_n=1.0, lam=1.0, zeta=0.0, steps=100,
                  t_start=999, P=32, stride=16, L=4, noise=None, alpha_bar=None, log=None, trace=None, cond=None):
    """DiffPIR + ControlNet super-resolution along z (H = slab average of sf slices). cond: the thick input on
    the thin grid the ControlNet was trained with (meddiff.thinslices; default H^T y_thick); also the start."""
    ab = cosine_alpha_bar() if alpha_bar is None else alpha_bar
    noise = noise or NoiseSource(0)
    cond = slab_HT(y_thick, n_thin, sf) if cond is None else cond
    ts = skip_sequence(t_start, steps)
    a0 = float(ab[ts[0]])
    z0 = noise.next(cond.shape)
    x = (f32(math.sqrt(a0)) * cond + f32(math.sqrt(1.0 - a0)) * z0).astype(np.float32)
    for i, t in enumerate(ts):
        a = float(ab[t])
        tp = ts[i + 1] if i + 1 < len(ts) else -1
        eps = sliding_eps(eps_fn, x, t, anat, region, P, stride, L, cond=cond)
        x0t = x0_from_eps(x, eps, a)
        rho = lam * sigma_n ** 2 / ((1.0 - a) / a)
        x0h = (x0t + slab_HT(y_thick - slab_H(x0t, sf), n_thin, sf) / f32(1.0 + rho)).astype(np.float32)
        if trace is not None:
            trace.append({"t": t, "t_prev": tp, "rho": rho})
        if tp < 0:
            x = x0h
        else:
            x = diffpir_step_next(x, x0h, a, float(ab[tp]), zeta, noise)
        if log:
            log(f"sr step {i + 1}/{len(ts)} t={t}")
    return x, ts


def anomaly(eps_fn, x0, anat, region, mask, t=950, P=32, stride=16, L=4, noise=None, alpha_bar=None, q=0.99,
            smoothing=0.0, draws=1):
    """One-shot reconstruction from t (the paper: 950); x0' = mean of `draws` reconstructions (one noise array
    each); map = |G_smoothing * (x0 - x0')| inside the mask (0 outside; smoothing 0: |x0 - x0'|)."""
    ab = cosine_alpha_bar() if alpha_bar is None else alpha_bar
    noise = noise or NoiseSource(0)
    a = float(ab[t])
    x0p = np.zeros(x0.shape, dtype=np.float32)
    for _ in range(draws):
        z = noise.next(x0.shape)
        xt = (f32(math.sqrt(a)) * x0 + f32(math.sqrt(1.0 - a)) * z).astype(np.float32)
        eps = sliding_eps(eps_fn, xt, t, anat, region, P, stride, L)
        x0p += x0_from_eps(xt, eps, a)
    if draws > 1:
        x0p = (x0p / f32(draws)).astype(np.float32)
    amap = anomaly_map(x0, x0p, mask, smoothing)
    return amap, x0p, anomaly_score(amap, mask, q)


def anomaly_map(x0, x0p, mask, smoothing=0.0):
    """|G * (x0 - x0')| inside the mask: the signed difference is smoothed (scipy reflect, 4 sigma) before the
    magnitude, so voxel texture of both signs cancels and a lesion (a blob of one sign) stays."""
    d = (x0 - x0p).astype(np.float32)
    if smoothing > 0:
        from scipy import ndimage
        d = ndimage.gaussian_filter(d, smoothing, mode="reflect", truncate=4.0).astype(np.float32)
    return (np.abs(d) * (mask > 0)).astype(np.float32)


def anomaly_score(amap, mask, q=0.99):
    """Sorted values inside the mask, element floor(q * (n - 1)) (0 if the mask is empty)."""
    v = np.sort(amap[mask > 0].ravel())
    return float(v[int(math.floor(q * (len(v) - 1)))]) if len(v) else 0.0
