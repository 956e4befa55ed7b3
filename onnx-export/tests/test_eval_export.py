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
