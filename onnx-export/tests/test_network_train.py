import json
import os
import numpy as np
import torch
from conftest import ROOT
from meddiff.network import MedDiffUNet, ControlNetSR
from meddiff import train as TR
from meddiff.golden import phantom
from meddiff import data as D


def tiny_cfg():
    with open(os.path.join(ROOT, "configs", "tiny.json")) as f:
        return json.load(f)


def inputs(cfg, N=2, shape=(16, 24, 16), seed=0):
    g = torch.Generator().manual_seed(seed)
    L = cfg["pe_L"]
    return (torch.randn((N, 1) + shape, generator=g), torch.tensor([3.0, 900.0][:N]), torch.randn((N, 6 * L) + shape, generator=g),
            torch.randint(0, 5, (N, 1) + shape, generator=g).float(), torch.tensor([0, 2][:N]))


def test_shapes_batch_independence_and_controlnet_zero_init():
    torch.manual_seed(0)
    cfg = tiny_cfg()
    m = MedDiffUNet(cfg).eval()
    for p in m.out.parameters():  # make the output non-trivial
        torch.nn.init.normal_(p, std=0.1)
    x = inputs(cfg)
    with torch.no_grad():
        y = m(*x)
        y0 = m(*[a[:1] for a in x])
    assert y.shape == x[0].shape
    assert torch.allclose(y[:1], y0, atol=1e-5)
    cn = ControlNetSR(m).eval()
    with torch.no_grad():
        yc = cn(*x, torch.randn_like(x[0]))
    assert torch.allclose(yc, y, atol=1e-6)  # zero convolutions: ControlNet starts as the base
    assert all(not p.requires_grad for p in cn.base.parameters())


def synthetic_items():
    hu, hu_les, _, _ = phantom()
    hu2 = np.roll(hu_les, 5, axis=1)
    return TR.prepare_cases([{"name": "ph1", "hu": hu, "region": "abdomen"}, {"name": "ph2", "hu": hu2, "region": "chest"}], True)


def test_tiny_training_loss_goes_down(tmp_path):
    cfg = tiny_cfg()
    items = synthetic_items()
    model, state = TR.train(cfg, str(tmp_path / "run"), items, items, max_steps=25, ckpt_minutes=100, threads=2, log=lambda s: None)
    v0, v1 = state["val"][0][1], state["val"][-1][1]
    assert v1 < 0.9 * v0, (v0, v1)
    assert os.path.exists(tmp_path / "run" / "last.pt")
    # resumable: continuing adds steps to the same run
    _, state2 = TR.train(cfg, str(tmp_path / "run"), items, items, max_steps=27, ckpt_minutes=100, threads=2, log=lambda s: None)
    assert state2["step"] == 27 and len(state2["history"]) == 27


def test_tiny_controlnet_training_runs(tmp_path):
    cfg = tiny_cfg()
    items = synthetic_items()
    TR.train(cfg, str(tmp_path / "b"), items, items, max_steps=2, threads=2, log=lambda s: None)
    m, st = TR.train(cfg, str(tmp_path / "c"), items, items, max_steps=3, threads=2, controlnet_from=str(tmp_path / "b" / "last.pt"), log=lambda s: None)
    assert isinstance(m, ControlNetSR) and st["step"] == 3


def test_views_and_slab_pairs():
    rng = np.random.default_rng(0)
    it = synthetic_items()[0]
    for level in (0, 1, 2):
        x, pe, an = D.make_view(it["x"], it["anat"], 16, 2, rng, level)
        assert x.shape == (16, 16, 16) and pe.shape == (12, 16, 16, 16) and an.shape == (16, 16, 16)
        if level == 0:  # image level sees the whole coordinate range
            assert abs(pe[0, 0, 0, 0] - 0.0) < 1e-6 and abs(pe[1, 0, 0, 0] + 1.0) < 1e-6  # sin/cos(pi * -1)
    hu = np.arange(12, dtype=np.float32)[:, None, None] * np.ones((1, 2, 2), np.float32)
    th = TR.slab_average(hu, 5)
    assert th.shape == (3, 2, 2) and th[0, 0, 0] == 2.0 and th[2, 0, 0] == 10.5
    assert TR.slab_replicate(th, 12, 5)[:, 0, 0].tolist() == [2] * 5 + [7] * 5 + [10.5] * 2


def test_low_t_draws_concentrate_where_asked():
    gen = torch.Generator().manual_seed(0)
    t = TR.draw_t(4000, 1000, gen, low_t=(0.7, 300))
    share_low = float((t <= 300).float().mean())
    # 70 % from 0..300 plus 30 % x 301/1000 of the uniform draws
    assert abs(share_low - (0.7 + 0.3 * 0.301)) < 0.03, share_low
    assert int(t.max()) <= 999 and int(t.min()) >= 0


def test_gpu_path_pack_unpack_and_worker_batches(tmp_path):
    """The device-tool path: DataLoader workers cut batches, weights-only files go back and forth."""
    from meddiff import gpu_import
    cfg = tiny_cfg()
    items = synthetic_items()
    TR.train(cfg, str(tmp_path / "run" / "base"), items, items, max_steps=2, threads=1, workers=2, log=lambda s: None)
    TR.train(cfg, str(tmp_path / "run" / "sr"), items, items, max_steps=2, threads=1, workers=2,
             controlnet_from=str(tmp_path / "run" / "base" / "last.pt"), log=lambda s: None)
    gpu_import.pack(str(tmp_path / "run"), str(tmp_path / "out"))
    assert not any("opt" in torch.load(str(tmp_path / "out" / f)) for f in ("base.pt", "sr-controlnet.pt"))
    gpu_import.unpack(str(tmp_path / "out"), str(tmp_path / "ck"))
    back = torch.load(str(tmp_path / "ck" / "sr" / "last.pt"))["model"]
    orig = torch.load(str(tmp_path / "run" / "sr" / "last.pt"))["model"]
    assert back.keys() == orig.keys() and all(torch.equal(back[k], orig[k]) for k in orig)
    # a ControlNet fine-tune can also start from a weights-style file; a base from --init-weights
    m = TR.build(cfg, init_weights=str(tmp_path / "out" / "base.pt"))
    assert all(torch.equal(m.state_dict()[k], v) for k, v in torch.load(str(tmp_path / "out" / "base.pt"))["model"].items())


def test_staged_case_round_trip(tmp_path):
    from meddiff import stage
    hu = np.array([[[-1500.4, -1000.0], [40.6, 3500.0]]], dtype=np.float32)
    p = str(tmp_path / "c.npz.xz")
    stage.write_case(p, hu, (3.27, 1.0, 1.0))
    vol, sp = D.read_volume(p)
    assert vol.dtype == np.float32 and sp == (3.27, 1.0, 1.0)
    assert vol.tolist() == [[[-1024.0, -1000.0], [41.0, 3071.0]]]  # int16, clipped to -1024..3071
