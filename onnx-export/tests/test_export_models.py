import json
import os
import numpy as np
import onnx
import pytest
import torch
from conftest import ROOT, MODELS_DIR, need_file
from meddiff.export import export_onnx, build_card, write_card, sha256
from meddiff.network import MedDiffUNet, ControlNetSR

SHIPPED = ["meddiff-fm-base", "meddiff-fm-sr-controlnet", "meddiff-fm-base.fp16", "meddiff-fm-sr-controlnet.fp16"]


def test_export_tiny_checker_and_card(tmp_path):
    with open(os.path.join(ROOT, "configs", "tiny.json")) as f:
        cfg = json.load(f)
    for cn in (False, True):
        m = MedDiffUNet(cfg)
        if cn:
            m = ControlNetSR(m)
        p = str(tmp_path / ("cn.onnx" if cn else "base.onnx"))
        export_onnx(m.eval(), cfg, p, cn)
        model = onnx.load(p)
        onnx.checker.check_model(model)
        names = [i.name for i in model.graph.input]
        assert names == ["x_t", "t", "pos_embed", "anatomy", "region"] + (["condition"] if cn else [])
        assert [o.name for o in model.graph.output] == ["eps"]
        assert model.opset_import[0].version >= 17
        dims = [d.dim_param for d in model.graph.input[0].type.tensor_type.shape.dim]
        assert dims[0] and dims[2] and dims[3] and dims[4]  # dynamic N, D, H, W
        card = build_card(p, cfg, {"step": 0}, cn)
        cp = write_card(p, card)
        assert json.load(open(cp))["sha256"] == sha256(p)


@pytest.mark.parametrize("name", SHIPPED)
def test_shipped_model_checker_and_card(name):
    p = os.path.join(MODELS_DIR, name + ".onnx")
    need_file(p, "shipped model")
    onnx.checker.check_model(p)
    card = json.load(open(p.replace(".onnx", ".card.json")))
    assert card["sha256"] == sha256(p)
    assert card["size_bytes"] == os.path.getsize(p)
    for k in ("inputs", "outputs", "pe_L", "schedule", "region_classes", "anatomy_classes", "training", "parity", "evaluation"):
        assert k in card, k
    assert len(card["schedule"]["alpha_bar"]) == card["schedule"]["T"] == 1000
    tr = card["training"]
    assert tr["steps"] > 0 and tr["loss_validation_fixed_batch"]["end"] < tr["loss_validation_fixed_batch"]["start"]
    assert "tseg_A_abdomen" in tr["validation_cases"] and "tseg_A_abdomen" not in tr["train_cases"]
    assert not any("mayo" in c.lower() for c in tr["train_cases"])


def test_models_dir_size():
    if not os.path.isdir(MODELS_DIR):
        pytest.skip("no models/")
    total = sum(os.path.getsize(os.path.join(MODELS_DIR, f)) for f in os.listdir(MODELS_DIR))
    assert total < 150 * 2 ** 20


def test_base_card_records_measured_denoising():
    p = os.path.join(MODELS_DIR, "meddiff-fm-base.card.json")
    need_file(p, "base model card")
    card = json.load(open(p))
    ev = card["evaluation"].get("ldct_denoising")
    if ev is None:
        pytest.skip("denoising evaluation not run yet (meddiff.evaluate --task denoise --update-cards)")
    assert ev["validation_case"] in card["training"]["validation_cases"]
    assert ev["psnr_reference_sampler"] > ev["psnr_low_dose"]  # the sampler improves on the low-dose input
    assert "psnr_gaussian" in ev and ev["command"].startswith("/usr/bin/python3 -m meddiff.evaluate")
