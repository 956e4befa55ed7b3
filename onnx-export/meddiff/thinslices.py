"""The thick input brought to the thin grid for super-resolution: the ControlNet condition, the DiffPIR
starting point and the source of the anatomy map. Mirrors the Java classes named below, value for value.

  replicate  H^T: thin slice z takes thick slice floor(z / sf) (the spec's pseudo-inverse; DiffPirSuperResolver.replicate)
  classical  cubic convolution (Keys, a = -0.5) between thick-slice centres, then the exact slab projection
             x + H^T(y - H x) so that every slab averages to its thick slice (ClassicalThinSlices.estimate)

A ControlNet is trained with one of them and its card says which ("sr_condition"). The classical one starts the
network from an estimate that is already as good as the cubic baseline, so a small ControlNet only has to learn the
within-slab detail; with the replicated one it must first undo the staircase.
"""
import math
import numpy as np

from .sampler import slab_H, slab_HT

MODES = ("replicate", "classical")


def keys_weights(t):
    """Keys cubic convolution weights (a = -0.5) of the taps at -1, 0, +1, +2 for a position t in [0, 1)."""
    t2, t3 = t * t, t * t * t
    return (0.5 * (-t3 + 2 * t2 - t), 0.5 * (3 * t3 - 5 * t2 + 2), 0.5 * (-3 * t3 + 4 * t2 + t), 0.5 * (t3 - t2))


def project(thin, thick, sf):
    """x + H^T(y - H x): every slab of the result averages to its thick slice."""
    return (thin + slab_HT(thick - slab_H(thin, sf), thin.shape[0], sf)).astype(np.float32)


def classical(thick, n, sf):
    """ClassicalThinSlices.estimate: cubic between slab centres (thin z at thick position (z - (sf-1)/2) / sf,
    clamped to the first / last centre), then the slab projection. Any scale (HU or normalized)."""
    thick = np.asarray(thick, dtype=np.float32)
    last = thick.shape[0] - 1
    out = np.empty((n,) + thick.shape[1:], dtype=np.float32)
    for z in range(n):
        u = min(max((z - (sf - 1) / 2.0) / sf, 0.0), float(last))
        i = int(math.floor(u))
        t = u - i
        if t == 0.0:
            out[z] = thick[i]
            continue
        w = keys_weights(t)
        taps = (thick[max(i - 1, 0)], thick[i], thick[min(i + 1, last)], thick[min(i + 2, last)])
        acc = w[0] * taps[0].astype(np.float64)
        for k in range(1, 4):
            acc = acc + w[k] * taps[k].astype(np.float64)
        out[z] = acc.astype(np.float32)
    return project(out, thick, sf)


def to_thin(thick, n, sf, mode):
    if mode == "replicate":
        return slab_HT(np.asarray(thick, dtype=np.float32), n, sf)
    if mode == "classical":
        return classical(thick, n, sf)
    raise ValueError(f"unknown super-resolution condition {mode!r} (one of {MODES})")
