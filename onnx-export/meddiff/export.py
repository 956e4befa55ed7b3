"""ONNX export (opset 17, dynamic batch and spatial size) + JSON model card.

  /usr/bin/python3 -m meddiff.export --ckpt checkpoints/base/last.pt --out ../models/meddiff-fm-base.onnx
  /usr/bin/python3 -m meddiff.export --ckpt checkpoints/sr/last.pt --out ../models/meddiff-fm-sr-controlnet.onnx

Any architecture-compatible checkpoint works: a dict with "model" (state_dict of MedDiffUNet or
ControlNetSR) and "state" {"cfg": {...}}; or a bare state_dict with --config.
"""
import argparse
import hashlib
import json
import os
import platform
import time
import numpy as np
import torch
import onnx

from . import data as D
from .network import MedDiffUNet, ControlNetSR
from .schedule import cosine_alpha_bar, T_DEFAULT, S_DEFAULT, BETA_MAX
from .posembed import patch_pe

OPSET = 17


def sha256(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for b in iter(lambda: f.read(1 << 20), b""):
            h.update(b)
    return h.hexdigest()


def load_checkpoint(path, config=None):
    ck = torch.load(path, map_location="cpu")
    if "model" in ck:
        sd, state = ck["model"], ck.get("state", {})
    else:
        sd, state = ck, {}
    cfg = state.get("cfg")
    if cfg is None:
        with open(config) as f:
            cfg = json.load(f)
    is_cn = any(k.startswith("ctrl_enc.") for k in sd)
    base = MedDiffUNet(cfg)
    model = ControlNetSR(base) if is_cn else base
    model.load_state_dict(sd)
    return model.eval(), cfg, state, is_cn


class _Wrap(torch.nn.Module):
    def __init__(self, m):
        super().__init__()
        self.m = m

    def forward(self, *a):
        return self.m(*a)


def example_inputs(cfg, P=16, N=1, cn=False, seed=0):
    g = torch.Generator().manual_seed(seed)
    L = cfg["pe_L"]
    x = torch.randn(N, 1, P, P, P, generator=g)
    t = torch.tensor([500.0] * N)
    pe = torch.from_numpy(np.stack([patch_pe((P, P, P), (0, 0, 0), (P, P, P), L)] * N))
    an = torch.randint(0, cfg["anatomy_classes"], (N, 1, P, P, P), generator=g).float()
    rg = torch.tensor([2] * N, dtype=torch.int64)
    args = [x, t, pe, an, rg]
    if cn:
        args.append(torch.randn(N, 1, P, P, P, generator=g).clamp(-1, 1))
    return tuple(args)


def export_onnx(model, cfg, out, cn):
    names = ["x_t", "t", "pos_embed", "anatomy", "region"] + (["condition"] if cn else [])
    dyn = {"x_t": {0: "N", 2: "D", 3: "H", 4: "W"}, "t": {0: "N"}, "pos_embed": {0: "N", 2: "D", 3: "H", 4: "W"},
           "anatomy": {0: "N", 2: "D", 3: "H", 4: "W"}, "region": {0: "N"}, "eps": {0: "N", 2: "D", 3: "H", 4: "W"}}
    if cn:
        dyn["condition"] = {0: "N", 2: "D", 3: "H", 4: "W"}
    os.makedirs(os.path.dirname(os.path.abspath(out)), exist_ok=True)
    with torch.no_grad():
        torch.onnx.export(_Wrap(model), example_inputs(cfg, cn=cn), out, opset_version=OPSET, input_names=names,
                          output_names=["eps"], dynamic_axes=dyn, do_constant_folding=True)
    m = onnx.load(out)
    onnx.checker.check_model(m)
    return m


def io_contract(cfg, cn):
    L = cfg["pe_L"]
    ins = [
        {"name": "x_t", "dtype": "float32", "shape": ["N", 1, "D", "H", "W"],
         "meaning": "noisy patch x_t = sqrt(alpha_bar[t]) x0 + sqrt(1 - alpha_bar[t]) eps, x0 in the normalized window scale [-1, 1]"},
        {"name": "t", "dtype": "float32", "shape": ["N"], "meaning": "diffusion step index 0..T-1 (integer value stored as float32); alpha_bar[t] from the table"},
        {"name": "pos_embed", "dtype": "float32", "shape": ["N", 6 * L, "D", "H", "W"],
         "meaning": f"global-coordinate position embedding, L = {L}: channel 2L*a + 2l = sin(2^l pi p_a), 2L*a + 2l + 1 = cos(2^l pi p_a), axis a = 0:x (W), 1:y (H), 2:z (D); p = -1 + 2 i / (n - 1) over the whole resampled volume"},
        {"name": "anatomy", "dtype": "float32", "shape": ["N", 1, "D", "H", "W"],
         "meaning": "anatomy class index per voxel (0..K-1, see anatomy_classes) as float32; the graph maps it to [-1, 1] itself"},
        {"name": "region", "dtype": "int64", "shape": ["N"], "meaning": "region class index (see region_classes)"},
    ]
    if cn:
        ins.append({"name": "condition", "dtype": "float32", "shape": ["N", 1, "D", "H", "W"],
                    "meaning": "ControlNet target condition: the thick-slice volume in the normalized window scale brought to the thin grid by H^T (each thin slice takes its thick slice's value), cut like x_t"})
    outs = [{"name": "eps", "dtype": "float32", "shape": ["N", 1, "D", "H", "W"], "meaning": "predicted noise epsilon-hat"}]
    return ins, outs


def size_note(cfg):
    return (f"Demo size: base channels {cfg['base_channels']} (paper 32), training patches {cfg['patch']}^3 (paper 128^3), "
            "so that it trains on 2 shared CPU cores in about an hour and one 64^3 patch runs in about 1 s in ONNX Runtime "
            "(Java, CPU, 2 threads; see evaluation.timing). Architecture otherwise as the paper (multipliers 1,2,4,4, one residual "
            "block per level, attention at patch/8 and in the middle). The paper-size configuration is onnx-export/configs/paper.json.")


def build_card(path, cfg, state, cn, extra=None):
    ab = cosine_alpha_bar(cfg.get("T", T_DEFAULT))
    ins, outs = io_contract(cfg, cn)
    hist = state.get("history", [])
    first = [h[1] for h in hist[:50]]
    last = [h[1] for h in hist[-50:]]
    val = state.get("val", [])
    # an ema.pt checkpoint carries ema_decay: its validation losses are the third entry of each val row
    vi = 2 if state.get("ema_decay") and val and len(val[-1]) > 2 else 1
    card = {
        "card_version": 1,
        "name": os.path.basename(path).replace(".onnx", ""),
        "file": os.path.basename(path),
        "sha256": sha256(path),
        "size_bytes": os.path.getsize(path),
        "task": "super-resolution ControlNet (locked base + trainable encoder copy)" if cn else "base denoising U-Net (epsilon prediction)",
        "paper": "MedDiff-FM (Yu, Gu, Zhang, Zhang, arXiv 2024)",
        "format": {"opset": OPSET, "producer": f"torch {torch.__version__} torch.onnx.export", "precision": "fp32",
                   "dynamic_axes": "batch N, and D, H, W (each a multiple of 8 = 2^(levels-1); other sizes fail in Concat)"},
        "inputs": ins, "outputs": outs,
        "patch": {"trained_patch_size": [cfg["patch"]] * 3, "recommended_sliding_window": {"patch": cfg["patch"], "stride": cfg["patch"] // 2},
                  "spatial_size": "dynamic, multiples of 8; pad volumes smaller than the patch"},
        "pe_L": cfg["pe_L"],
        "architecture": {k: cfg[k] for k in ("base_channels", "channel_mult", "groups", "heads")} | {
            "res_blocks_per_level": 1, "attention": "self-attention at the lowest level (patch/8) and in the middle block",
            "parameters": None},
        "schedule": {"type": "cosine", "T": cfg.get("T", T_DEFAULT), "s": S_DEFAULT, "beta_max": BETA_MAX,
                     "definition": "alpha_bar[t] = prod_{i<=t} (1 - min(1 - f((i+1)/T)/f(i/T), 0.999)), f(u) = cos^2((u+s)/(1+s) pi/2), t = 0..T-1",
                     "alpha_bar": [float(v) for v in ab]},
        "region_classes": [{"index": i, "name": r, "window_level": D.WINDOWS[r][0], "window_width": D.WINDOWS[r][1]} for i, r in enumerate(D.REGIONS)],
        "normalization": "x = clip((HU - (level - width/2)) / width * 2 - 1, -1, 1); HU = (x + 1) / 2 * width + level - width/2",
        "anatomy_classes": [{"index": i, "name": n} for i, n in enumerate(D.ANATOMY_CLASSES)],
        "anatomy_rule": "body = HU > -500, holes filled per axial slice, largest 6-connected 3-D component; inside body: HU < -400 -> 1, < -30 -> 2, < 200 -> 3, else 4; outside -> 0 (1 mm grid)",
        "resampling": "1.0 mm isotropic, linear",
        "training": {
            "config": cfg,
            "steps": state.get("step"),
            "batch": cfg["batch"], "grad_accum": cfg.get("grad_accum", 1), "optimizer": f"Adam lr {cfg['lr']}", "loss": "L1(eps, eps_hat)",
            "loss_train_first50_mean": float(np.mean(first)) if first else None,
            "loss_train_last50_mean": float(np.mean(last)) if last else None,
            "loss_validation_fixed_batch": {"start": val[0][1] if val else None, "end": val[-1][vi] if val else None,
                                            "definition": "L1 eps loss on 8 fixed views (levels 0/1/2) of the validation volume, t = linspace(20, 980, 8), fixed noise"},
            "seconds": state.get("seconds"),
            "train_cases": state.get("train_cases"), "validation_cases": state.get("val_cases"),
            "data_licences": "totalsegmentator test files (Apache-2.0 repo), IBSI STS (CC BY 3.0), CIP (BSD-style), dcm_qa_ct (BSD-2); Mayo data never used for training",
            "hardware": f"CPU only: {platform.processor() or platform.machine()}, 2 cores shared with other builds, torch threads 1-2",
            "last_run": {k: state.get(k) for k in ("init_weights", "low_t", "high_t", "level_probs", "ema_decay", "sr_condition")
                         if state.get(k) is not None},
        },
        "model_size_note": size_note(cfg),
        "parity": {"parity_max_abs_diff": None, "how": None},
        "evaluation": {},
    }
    if cn:
        mode = state.get("sr_condition") or "replicate"
        card["sr_condition"] = mode
        how = {"replicate": "H^T thick (replicated slabs), anatomy of the thin volume",
               "classical": "the classical thin estimate (cubic between slab centres + exact slab projection, meddiff.thinslices) "
                            "and the anatomy map computed from it, as at inference"}[mode]
        card["training"]["what"] = ("ControlNet fine-tuning on thin/thick pairs (thick = mean of 5 consecutive 1 mm slices, "
                                    f"condition = {how}); base weights locked = meddiff-fm-base (see its card for the base training)")
        card["training"]["trainable_parameters"] = int(sum(p.numel() for n, p in ControlNetSR(MedDiffUNet(cfg)).named_parameters() if not n.startswith("base.")))
    if extra:
        card.update(extra)
    return card


def write_card(onnx_path, card):
    p = onnx_path.replace(".onnx", ".card.json")
    with open(p, "w") as f:
        json.dump(card, f, indent=1)
    return p


def update_card(onnx_path, updates):
    p = onnx_path.replace(".onnx", ".card.json")
    with open(p) as f:
        card = json.load(f)
    for k, v in updates.items():
        if isinstance(v, dict) and isinstance(card.get(k), dict):
            card[k].update(v)
        else:
            card[k] = v
    with open(p, "w") as f:
        json.dump(card, f, indent=1)
    return card


def main(argv=None):
    ap = argparse.ArgumentParser()
    ap.add_argument("--ckpt", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--config", help="config JSON for a bare state_dict checkpoint")
    ap.add_argument("--train-command", default=None)
    ap.add_argument("--fp16", action="store_true", help="also write NAME.fp16.onnx (+ card)")
    a = ap.parse_args(argv)
    t0 = time.time()
    model, cfg, state, cn = load_checkpoint(a.ckpt, a.config)
    export_onnx(model, cfg, a.out, cn)
    card = build_card(a.out, cfg, state, cn)
    card["architecture"]["parameters"] = int(sum(p.numel() for p in model.parameters()))
    card["export"] = {"command": "/usr/bin/python3 -m meddiff.export " + " ".join(argv or __import__("sys").argv[1:]),
                      "seconds": round(time.time() - t0, 1), "checkpoint_sha256": sha256(a.ckpt)}
    if a.train_command:
        card["training"]["command"] = a.train_command
    print(write_card(a.out, card))
    if a.fp16:
        from .fp16 import convert
        p16 = a.out.replace(".onnx", ".fp16.onnx")
        convert(a.out, p16)
        c16 = json.loads(json.dumps(card))
        c16.update({"name": os.path.basename(p16).replace(".onnx", ""), "file": os.path.basename(p16), "sha256": sha256(p16),
                    "size_bytes": os.path.getsize(p16)})
        c16["format"]["precision"] = ("fp16 weights and activations on the spatial path; inputs, output eps, the timestep/region "
                                      "embedding branch and Resize scales stay float32 (meddiff.fp16). Same input/output contract as fp32. "
                                      "On ORT CPU, fp16 kernels are missing and ORT inserts casts: use it with the CUDA provider.")
        c16["fp32_model"] = card["file"]
        c16["evaluation"] = {"note": "task figures were measured with the PyTorch fp32 reference: see the fp32 card; this graph differs from it per evaluation by parity.parity_max_abs_diff"}
        print(write_card(p16, c16))


if __name__ == "__main__":
    main()
