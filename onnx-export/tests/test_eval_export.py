import json
import os

import numpy as np
from conftest import need_shared


def _read(out, index, name):
    v = index["volumes"][name]
    return np.fromfile(os.path.join(out, v["file"]), dtype="<f4").reshape(v["shape_zyx"])


def test_evaluation_set_has_held_out_blocks_and_real_lesions(tmp_path):
    """What bin/evaluate scores: the validation case only for metrics, lesion masks inside the ROIs."""
    need_shared()
    from meddiff import export_eval_volumes as E
    out = str(tmp_path / "eval")
    E.main(["--out", out, "--denoise-block", "16,64,64", "--train-block", "16,64,64", "--sr-block", "20,64,64",
            "--anomaly-block", "16,64,64", "--anomaly-volumes", "2", "--real-block", "16,96,96"])
    index = json.load(open(os.path.join(out, "index.json")))
    assert index["volumes"]["denoise/full_dose"]["case"] == index["validation_case"] == "tseg_A_abdomen"
    # the quarter-dose input is noisier than the full dose it is scored against
    fd, ld = _read(out, index, "denoise/full_dose"), _read(out, index, "denoise/low_dose")
    assert 5 < float(np.std(ld - fd)) < 200
    # inserted lesions lie in the anomaly ROI
    roi = _read(out, index, "anomaly/roi") > 0.5
    m0 = _read(out, index, "anomaly/mask_0") > 0.5
    assert m0.sum() > 0 and (m0 & roi).sum() == m0.sum()
    # every real-lesion case has tumour voxels, all inside its ROI, and is labelled as a training volume
    assert len(index["real_lesion_cases"]) == 3
    for c in index["real_lesion_cases"]:
        m = _read(out, index, c["mask"]) > 0.5
        r = _read(out, index, c["roi"]) > 0.5
        assert c["split"] == "train" and m.sum() == c["tumour_voxels_in_block"] > 0
        assert (m & r).sum() == m.sum() and (r & ~m).sum() > 0


def _nifti(path, arr, spacing):
    import nibabel as nib
    nib.save(nib.Nifti1Image(arr, np.diag([spacing[0], spacing[1], spacing[2], 1.0])), str(path))


def test_a_sites_lesion_case_is_written_as_held_out(tmp_path):
    """bin/evaluate --lesion-case IMAGE MASK: a block centred on the lesion, the lesion inside the ROI, split held_out."""
    from meddiff import export_eval_volumes as E
    x, y, z = np.meshgrid(np.arange(80), np.arange(70), np.arange(30), indexing="ij")  # NIfTI [x, y, z]
    body = ((x - 40) ** 2 + (y - 35) ** 2) < 30 ** 2
    img = np.where(body, 50.0, -1000.0).astype(np.float32)
    lesion = ((x - 50) ** 2 + (y - 30) ** 2 + ((z - 15) * 2) ** 2) < 6 ** 2
    img[lesion] = -20.0
    _nifti(tmp_path / "ct.nii.gz", img, (1.0, 1.0, 2.0))
    _nifti(tmp_path / "mask.nii.gz", lesion.astype(np.uint8), (1.0, 1.0, 2.0))
    out = tmp_path / "eval"
    out.mkdir()
    json.dump({"volumes": {}}, open(out / "index.json", "w"))
    assert E.main(["--out", str(out), "--add", "lesions", "--real-block", "32,48,48",
                   "--lesion-case", str(tmp_path / "ct.nii.gz"), str(tmp_path / "mask.nii.gz")]) == 0
    index = json.load(open(out / "index.json"))
    [c] = index["lesion_cases_held_out"]
    assert c["split"] == "held_out" and c["case"] == "ct"
    v, m, r = (_read(str(out), index, c[k]) for k in ("volume", "mask", "roi"))
    assert v.shape == (32, 48, 48)  # 30 slices of 2 mm -> 60 at 1 mm, block of 32 centred on the lesion
    assert m.sum() == c["tumour_voxels_in_block"] > 100 and (m.astype(bool) & ~r.astype(bool)).sum() == 0
    assert abs(float(v[m > 0.5].mean()) + 20) < 15 and (r.astype(bool) & ~m.astype(bool)).sum() > 0
    # a second call adds its case and keeps the first
    _nifti(tmp_path / "ct2.nii.gz", img, (1.0, 1.0, 2.0))
    assert E.main(["--out", str(out), "--add", "lesions", "--real-block", "32,48,48",
                   "--lesion-case", str(tmp_path / "ct2.nii.gz"), str(tmp_path / "mask.nii.gz")]) == 0
    index = json.load(open(out / "index.json"))
    assert [c["case"] for c in index["lesion_cases_held_out"]] == ["ct", "ct2"]
    assert len({c["volume"] for c in index["lesion_cases_held_out"]}) == 2


def test_a_lesion_case_with_a_bad_mask_is_refused_with_the_file_named(tmp_path):
    from meddiff import export_eval_volumes as E
    import pytest
    img = np.full((40, 40, 20), 40.0, np.float32)
    _nifti(tmp_path / "ct.nii.gz", img, (1.0, 1.0, 1.0))
    _nifti(tmp_path / "small.nii.gz", np.ones((40, 40, 10), np.uint8), (1.0, 1.0, 1.0))
    _nifti(tmp_path / "empty.nii.gz", np.zeros((40, 40, 20), np.uint8), (1.0, 1.0, 1.0))
    out = tmp_path / "eval"
    out.mkdir()
    json.dump({"volumes": {}}, open(out / "index.json", "w"))
    _nifti(tmp_path / "coarse.nii.gz", np.ones((40, 40, 20), np.uint8), (1.0, 1.0, 2.0))
    for mask, why in (("small.nii.gz", "differs from the image"), ("coarse.nii.gz", "differs from the image"),
                      ("empty.nii.gz", "is empty")):
        with pytest.raises(SystemExit) as e:
            E.main(["--out", str(out), "--add", "lesions", "--lesion-case", str(tmp_path / "ct.nii.gz"), str(tmp_path / mask)])
        assert mask in str(e.value) and why in str(e.value)
    with pytest.raises(SystemExit) as e:
        E.main(["--out", str(tmp_path / "none"), "--add", "ldct"])
    assert "existing" in str(e.value)


def test_real_ldct_pairs_keep_the_tuning_pair_apart(tmp_path):
    """The Mayo L506 pairs: HU, the quarter dose noisier than the full dose, the tuning pair never scored."""
    from meddiff import export_eval_volumes as E
    if not os.path.isdir(E.LDCT_DIR):
        import pytest
        pytest.skip(f"real LDCT pairs not found at {E.LDCT_DIR}")
    index = {"volumes": {}}
    E.ldct_pairs(str(tmp_path), index, 128)
    pairs = index["ldct_real_pairs"]
    assert pairs["tune"] == "L506_18" and "L506_18" not in pairs["evaluate"] and len(pairs["evaluate"]) == 4
    for n in pairs["evaluate"]:
        qd, fd = _read(str(tmp_path), index, f"ldct/{n}_quarter"), _read(str(tmp_path), index, f"ldct/{n}_full")
        assert qd.shape == fd.shape == (1, 128, 128)
        assert -1100 < float(fd.min()) and float(np.median(fd)) > -200  # HU, central crop inside the body
        assert 10 < float(np.std(qd - fd)) < 80
