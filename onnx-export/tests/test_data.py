import os
import numpy as np
import pytest
from conftest import need_shared
from meddiff import data as D


def test_normalize_windows_and_anatomy():
    hu = np.array([-1000, -120, 60, 240, 1000], np.float32)
    x = D.normalize(hu, "abdomen")
    assert x.tolist() == [-1.0, -1.0, 0.0, 1.0, 1.0]
    assert np.allclose(D.denormalize(D.normalize(np.float32(0.0), "chest"), "chest"), 0.0, atol=1e-3)
    vol = np.full((6, 40, 40), -1000.0, np.float32)
    yy, xx = np.mgrid[:40, :40]
    body = ((yy - 20) ** 2 + (xx - 20) ** 2) <= 15 ** 2
    vol[:, body] = 40.0
    vol[:, 18:22, 18:22] = 700.0
    vol[:, 10:14, 18:22] = -800.0  # lung-like hole inside the body
    vol[:, 26:29, 18:22] = -100.0
    a = D.anatomy_map(vol)
    assert a[3, 0, 0] == 0 and a[3, 20, 20] == 4 and a[3, 12, 20] == 1 and a[3, 27, 20] == 2 and a[3, 20, 10] == 3


def test_resample():
    v = np.arange(4 * 6 * 6, dtype=np.float32).reshape(4, 6, 6)
    r = D.resample(v, (3.0, 0.5, 0.5))
    assert r.shape == (12, 3, 3)
    assert r[0, 0, 0] == v[0, 0, 0]


def test_readers_on_shared_data():
    need_shared()
    v, sp = D.read_volume(D.find_path("cip/ct-64.nrrd"))
    assert v.shape == (79, 64, 64) and abs(sp[0] - 3.987) < 0.01 and abs(sp[1] - 4.172) < 0.01
    v, sp = D.read_volume(D.find_path("ibsi_sts/STS_004/CT_image.nii.gz"))
    assert v.shape == (85, 183, 173) and abs(sp[0] - 3.27) < 0.01
    v, sp = D.read_volume(D.find_path("dcm_qa_ct/In/GE"))  # irregular steps: interpolated on a regular grid
    assert v.shape[1:] == (512, 512) and v.shape[0] > 20 and -1100 < float(np.median(v)) < 100


def test_split_keeps_validation_out_of_training():
    names = {n: s for n, _, _, s in D.CATALOGUE}
    assert names["tseg_A_abdomen"] == "validation"
    assert not any("mayo" in n.lower() for n in names)
