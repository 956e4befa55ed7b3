import math
import numpy as np
from meddiff.schedule import cosine_alpha_bar, t_from_sigma, skip_sequence
from meddiff.posembed import patch_pe, axis_coords, pe_from_coords


def test_cosine_schedule():
    ab = cosine_alpha_bar(1000)
    assert ab.shape == (1000,)
    assert np.all(np.diff(ab) < 0)
    assert abs(ab[0] - 0.99995872) < 1e-6 and ab[-1] < 1e-8
    s = 0.008
    f = lambda u: math.cos((u + s) / (1 + s) * math.pi / 2) ** 2
    assert abs(ab[499] - f(500 / 1000) / f(0)) < 1e-9  # no clipping in the middle


def test_t_from_sigma_and_skipping():
    ab = cosine_alpha_bar()
    t = t_from_sigma(ab, 0.15)
    sb = np.sqrt((1 - ab) / ab)
    assert abs(sb[t] - 0.15) <= min(abs(sb[t - 1] - 0.15), abs(sb[t + 1] - 0.15))
    assert t_from_sigma(ab, 1.0) == 495
    seq = skip_sequence(87, 10)
    assert seq[0] == 87 and len(seq) == 10 and all(a > b for a, b in zip(seq, seq[1:]))
    assert seq == [(87 * (10 - i)) // 10 for i in range(10)]
    assert skip_sequence(5, 10) == [5, 4, 3, 2, 1, 0]


def test_position_embedding_layout():
    L = 4
    vol, off, P = (40, 48, 32), (8, 16, 4), (8, 8, 16)
    pe = patch_pe(vol, off, P, L)
    assert pe.shape == (24, 8, 8, 16) and pe.dtype == np.float32
    pz, py, px = axis_coords(40), axis_coords(48), axis_coords(32)
    assert pz[0] == -1 and pz[-1] == 1
    k, j, i = 3, 5, 7  # voxel inside the patch
    gz, gy, gx = pz[off[0] + k], py[off[1] + j], px[off[2] + i]
    for a, p in enumerate((gx, gy, gz)):  # axis order x, y, z
        for l in range(L):
            assert abs(pe[2 * L * a + 2 * l, k, j, i] - math.sin(2 ** l * math.pi * p)) < 1e-6
            assert abs(pe[2 * L * a + 2 * l + 1, k, j, i] - math.cos(2 ** l * math.pi * p)) < 1e-6
    full = patch_pe(vol, (0, 0, 0), vol, L)
    assert np.array_equal(full[:, 8:16, 16:24, 4:20], pe)
