"""Global-coordinate position embedding (MedDiff-FM multi-level inputs).

Layout, C order [D, H, W] = [z, y, x]:
  p_z(k) = -1 + 2 k / (D - 1), p_y(j) = -1 + 2 j / (H - 1), p_x(i) = -1 + 2 i / (W - 1)
  over the WHOLE (resampled) volume ((-1,-1,-1) = first voxel, (1,1,1) = last voxel;
  a dimension of size 1 has coordinate 0).
Channels (6 L of them): for axis a in (x, y, z) [a = 0, 1, 2], for l in 0..L-1:
  channel 2 L a + 2 l     = sin(2^l * pi * p_a)
  channel 2 L a + 2 l + 1 = cos(2^l * pi * p_a)
A patch cut at voxel offset (oz, oy, ox) uses the sub-grid of the global coordinates.
"""
import math
import numpy as np


def axis_coords(n):
    if n == 1:
        return np.zeros(1, dtype=np.float64)
    return -1.0 + 2.0 * np.arange(n, dtype=np.float64) / (n - 1)


def pe_from_coords(pz, py, px, L):
    """pz, py, px: 1-D float arrays for the patch axes -> [6L, len(pz), len(py), len(px)] float32."""
    D, H, W = len(pz), len(py), len(px)
    out = np.empty((6 * L, D, H, W), dtype=np.float32)
    for a, (p, shape) in enumerate(((px, (1, 1, W)), (py, (1, H, 1)), (pz, (D, 1, 1)))):
        for l in range(L):
            arg = (2.0 ** l) * math.pi * p
            out[2 * L * a + 2 * l] = np.broadcast_to(np.sin(arg).reshape(shape), (D, H, W))
            out[2 * L * a + 2 * l + 1] = np.broadcast_to(np.cos(arg).reshape(shape), (D, H, W))
    return out


def patch_pe(vol_shape, offset, patch_shape, L):
    D, H, W = vol_shape
    oz, oy, ox = offset
    pd, ph, pw = patch_shape
    return pe_from_coords(axis_coords(D)[oz:oz + pd], axis_coords(H)[oy:oy + ph], axis_coords(W)[ox:ox + pw], L)


def view_pe(start, stop, n, L):
    """PE of a view whose axis k covers global coordinates linspace(start[k], stop[k], n[k])
    (used for resized crops: the coordinate grid is resized like the image, align_corners)."""
    grids = [np.linspace(start[k], stop[k], n[k]) if n[k] > 1 else np.array([0.5 * (start[k] + stop[k])]) for k in range(3)]
    return pe_from_coords(grids[0], grids[1], grids[2], L)
