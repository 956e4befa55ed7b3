import numpy as np
import pytest
from meddiff.sampler import NoiseSource, denoise, super_resolve, anomaly, grid_positions, patch_grid, slab_H, slab_HT
from meddiff import simulate as S


def fake_eps(x_t, t, pe, anat, region, cond=None):
    # deterministic stand-in for the network: depends on inputs like a real one would
    return (0.1 * x_t + 0.01 * pe[:, :1] + 0.001 * t).astype(np.float32)


def test_grid():
    assert grid_positions(40, 24, 16) == [0, 16]
    assert grid_positions(32, 24, 16) == [0, 8]
    assert grid_positions(24, 24, 16) == [0]
    assert grid_positions(70, 32, 16) == [0, 16, 32, 38]
    assert len(patch_grid((40, 40, 32), 24, 16)) == 8
    with pytest.raises(ValueError):
        grid_positions(20, 24, 16)


def test_sampler_determinism_with_explicit_noise():
    rng = np.random.default_rng(0)
    y0 = np.clip(rng.standard_normal((24, 32, 24)).astype(np.float32) * 0.3, -1, 1)
    anat = np.full(y0.shape, 3, np.float32)
    ns1 = NoiseSource(seed=7)
    a, ts = denoise(fake_eps, y0, anat, 2, 0.15, 10.0, 0.5, 4, 16, 8, 2, ns1)
    ns2 = NoiseSource(seed=7)
    b, _ = denoise(fake_eps, y0, anat, 2, 0.15, 10.0, 0.5, 4, 16, 8, 2, ns2)
    assert np.array_equal(a, b)
    ns3 = NoiseSource(arrays=ns1.used)  # replaying the recorded noise gives the same bits
    c, _ = denoise(fake_eps, y0, anat, 2, 0.15, 10.0, 0.5, 4, 16, 8, 2, ns3)
    assert np.array_equal(a, c)
    assert len(ns1.used) == len(ts) - 1
    yt = slab_H(y0, 5)
    s1, _ = super_resolve(fake_eps, yt, 24, anat, 2, 5, 1.0, 1.0, 0.3, 3, 495, 16, 8, 2, NoiseSource(seed=1))
    s2, _ = super_resolve(fake_eps, yt, 24, anat, 2, 5, 1.0, 1.0, 0.3, 3, 495, 16, 8, 2, NoiseSource(seed=1))
    assert np.array_equal(s1, s2)
    m1, _, sc1 = anomaly(fake_eps, y0, anat, 2, np.ones_like(y0), 950, 16, 8, 2, NoiseSource(seed=3))
    m2, _, sc2 = anomaly(fake_eps, y0, anat, 2, np.ones_like(y0), 950, 16, 8, 2, NoiseSource(seed=3))
    assert np.array_equal(m1, m2) and sc1 == sc2


def test_slab_operators():
    x = np.random.default_rng(1).standard_normal((12, 3, 3)).astype(np.float32)
    y = slab_H(x, 5)
    assert y.shape == (3, 3, 3)
    assert np.allclose(y[2], x[10:12].mean(0))
    # data step makes H x0_hat = y0 exactly when rho = 0
    x0 = np.zeros_like(x)
    x0h = x0 + slab_HT(y - slab_H(x0, 5), 12, 5)
    assert np.allclose(slab_H(x0h, 5), y, atol=1e-6)


def test_low_dose_noise_level_is_sane():
    H = W = 160
    yy, xx = np.mgrid[:H, :W]
    cyl = ((yy - 79.5) ** 2 + (xx - 79.5) ** 2) <= 75 ** 2  # 15 cm water cylinder
    hu = np.where(cyl, 0.0, -1000.0).astype(np.float32)[None].repeat(2, 0)
    roi = (((yy - 79.5) ** 2 + (xx - 79.5) ** 2) <= 50 ** 2)
    qd = S.low_dose(hu, 0.25, seed=0)
    fd = S.low_dose(hu, 1.0, seed=1)
    s_qd = S.noise_std_hu(qd, hu, np.broadcast_to(roi, hu.shape))
    s_fd = S.noise_std_hu(fd, hu, np.broadcast_to(roi, hu.shape))
    assert 3.0 < s_qd < 60.0, s_qd  # small phantom: less noise than an abdomen, same order
    assert 1.6 < s_qd / s_fd < 2.5, (s_qd, s_fd)  # std ~ 1/sqrt(dose)
    assert abs(float(np.mean((qd - hu)[:, roi]))) < 3.0  # noise insertion is unbiased


def test_thick_slices_and_lesions():
    hu = np.full((20, 30, 30), 50.0, np.float32)
    assert S.thick_slices(hu, 5).shape == (4, 30, 30)
    region = np.zeros(hu.shape, bool)
    region[5:15, 10:20, 10:20] = True
    out, mask, les = S.insert_lesions(hu, region, n=2, seed=0)
    assert mask.sum() > 0 and mask[~region].sum() == 0
    assert float(out[mask > 0].mean()) < 50.0 - 10.0


def test_classical_thin_condition_keeps_slabs_and_linear_ramps():
    from meddiff.thinslices import classical, to_thin
    z = np.arange(40, dtype=np.float32)
    ramp = np.broadcast_to((3.0 * z - 20.0)[:, None, None], (40, 4, 4)).astype(np.float32)
    thick = slab_H(ramp, 5)
    est = classical(thick, 40, 5)
    assert np.abs(slab_H(est, 5) - thick).max() < 1e-4  # every slab averages to its thick slice
    assert np.abs(est[10:30] - ramp[10:30]).max() < 1e-3  # cubic reproduces a ramp where its four taps are inside
    assert np.abs(to_thin(thick, 40, 5, "replicate") - slab_HT(thick, 40, 5)).max() == 0
    with pytest.raises(ValueError):
        to_thin(thick, 40, 5, "bicubic")
    # the sampler takes the condition it is given (here the default one: same bits)
    rng = np.random.default_rng(2)
    y0 = np.clip(rng.standard_normal((20, 16, 16)).astype(np.float32) * 0.3, -1, 1)
    yt, anat = slab_H(y0, 5), np.full(y0.shape, 3, np.float32)
    a, _ = super_resolve(fake_eps, yt, 20, anat, 2, 5, 1.0, 1.0, 0.0, 2, 495, 16, 8, 2, NoiseSource(seed=1))
    b, _ = super_resolve(fake_eps, yt, 20, anat, 2, 5, 1.0, 1.0, 0.0, 2, 495, 16, 8, 2, NoiseSource(seed=1), cond=slab_HT(yt, 20, 5))
    assert np.array_equal(a, b)


def test_anomaly_draws_and_signed_smoothing():
    from scipy import ndimage
    rng = np.random.default_rng(4)
    x0 = np.clip(rng.standard_normal((16, 16, 16)).astype(np.float32) * 0.3, -1, 1)
    anat, mask = np.full(x0.shape, 3, np.float32), np.ones(x0.shape, np.float32)
    ns = NoiseSource(seed=5)
    _, x0p2, _ = anomaly(fake_eps, x0, anat, 2, mask, 700, 16, 8, 2, ns, draws=2)
    assert len(ns.used) == 2
    singles = [anomaly(fake_eps, x0, anat, 2, mask, 700, 16, 8, 2, NoiseSource(arrays=[z]))[1] for z in ns.used]
    assert np.allclose(x0p2, (singles[0] + singles[1]) / 2, atol=1e-6)
    m, x0p, _ = anomaly(fake_eps, x0, anat, 2, mask, 700, 16, 8, 2, NoiseSource(seed=6), smoothing=1.5)
    assert np.allclose(m, np.abs(ndimage.gaussian_filter(x0 - x0p, 1.5)), atol=1e-6)
