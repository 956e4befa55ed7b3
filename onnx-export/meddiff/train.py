"""Training of the base U-Net and of the super-resolution ControlNet.

  /usr/bin/python3 -m meddiff.train --config configs/demo.json --out checkpoints/base --minutes 50
  /usr/bin/python3 -m meddiff.train --config configs/demo.json --out checkpoints/sr \
        --controlnet checkpoints/base/last.pt --minutes 20
  (own data: --data my_volumes.json, a list of {"path": ..., "region": "HaN|chest|abdomen"})

Cosine schedule T = 1000, L1 loss on epsilon, Adam, gradient accumulation, multi-level views,
resumable checkpoints (last.pt is rewritten every --ckpt-minutes; rerunning the same command resumes).
"""
import argparse
import json
import os
import time
import numpy as np
import torch
import torch.nn.functional as F

from .schedule import cosine_alpha_bar
from .network import MedDiffUNet, ControlNetSR
from . import data as D
from .thinslices import to_thin, MODES as SR_CONDITIONS

SF = 5  # thin slices per thick slice for the super-resolution pairs


def slab_average(hu, sf=SF):
    """H: average sf consecutive slices along z (a last partial slab averages what is left)."""
    n = hu.shape[0]
    out = [hu[i:i + sf].mean(axis=0) for i in range(0, n, sf)]
    return np.stack(out).astype(np.float32)


def slab_replicate(thick, n, sf=SF):
    """H^T as used here (pseudo-inverse): every thin slice takes the value of its thick slice."""
    return np.repeat(thick, sf, axis=0)[:n]


def prepare_cases(cases, with_condition=False, sr_condition="replicate"):
    """with_condition: ControlNet items. sr_condition "replicate": condition H^T(thick), anatomy of the thin
    volume (the original recipe); "classical": condition = the classical thin estimate (meddiff.thinslices) and
    the anatomy map computed from it, exactly what the sampler has at inference."""
    out = []
    for c in cases:
        hu = c["hu"]
        item = {"name": c["name"], "region": D.REGIONS.index(c["region"]),
                "x": D.normalize(hu, c["region"]), "anat": D.anatomy_map(hu)}
        if with_condition:
            cond_hu = to_thin(slab_average(hu), hu.shape[0], SF, sr_condition)
            item["cond"] = D.normalize(cond_hu, c["region"])
            if sr_condition == "classical":
                item["anat"] = D.anatomy_map(cond_hu)
        out.append(item)
    return out


def sample_batch(items, B, P, L, rng, with_condition=False, levels=None, level_probs=None):
    """levels: a fixed level per batch slot (cycled); otherwise each view draws its level, uniformly (the
    paper's three views) or with level_probs = (p_image, p_2P_crop, p_P_crop)."""
    xs, pes, ans, regs, conds = [], [], [], [], []
    for b in range(B):
        it = items[int(rng.integers(0, len(items)))]
        level = None if levels is None else levels[b % len(levels)]
        if level is None:
            level = int(rng.integers(0, 3)) if level_probs is None else int(rng.choice(3, p=level_probs))
        if with_condition:  # crop x and condition identically: same seed for both views
            s2 = int(rng.integers(0, 2**31))
            xv, pe, av = D.make_view(it["x"], it["anat"], P, L, np.random.default_rng(s2), level)
            cv, _, _ = D.make_view(it["cond"], it["anat"], P, L, np.random.default_rng(s2), level)
            conds.append(cv)
        else:
            xv, pe, av = D.make_view(it["x"], it["anat"], P, L, rng, level)
        xs.append(xv); pes.append(pe); ans.append(av); regs.append(it["region"])
    t = lambda a: torch.from_numpy(np.ascontiguousarray(np.stack(a)))
    out = {"x0": t(xs)[:, None], "pe": t(pes), "anat": t(ans)[:, None], "region": torch.tensor(regs, dtype=torch.int64)}
    if with_condition:
        out["cond"] = t(conds)[:, None]
    return out


def draw_t(B, T, gen, low_t=None, high_t=None):
    """Timesteps: uniform on 0..T-1, or with low_t = (fraction, t_max) that fraction of the batch
    uniform on 0..t_max and the rest uniform on 0..T-1. Denoising (DiffPIR from t_start ~ 100-250
    for quarter-dose CT) only evaluates the network at small t, so a fine-tune can spend its steps there.
    high_t = (fraction, t_min, ...): that fraction (of what low_t left) uniform on t_min..T-1 (the anomaly
    map's one-step reconstruction at t = 950)."""
    t = torch.randint(0, T, (B,), generator=gen)
    if low_t is not None:
        frac, t_max = low_t
        pick = torch.rand((B,), generator=gen) < frac
        t = torch.where(pick, torch.randint(0, int(t_max) + 1, (B,), generator=gen), t)
    else:
        pick = torch.zeros((B,), dtype=torch.bool)
    if high_t is not None:
        frac, t_min = high_t[0], int(high_t[1])
        hi = (~pick) & (torch.rand((B,), generator=gen) < frac / max(1e-9, 1.0 - (low_t[0] if low_t else 0.0)))
        t = torch.where(hi, torch.randint(t_min, T, (B,), generator=gen), t)
    return t


def loss_weights(ab, high_t):
    """Per-sample weight of the epsilon L1 loss. With high_t = (fraction, t_min, w_max): weight
    max(1, min(sqrt((1 - a) / a), w_max)). |x0 - x0'| = sqrt((1 - a) / a) |eps - eps'|, so at large t the
    plain epsilon loss barely trains the x0 estimate the anomaly map is made of (at t = 950 an epsilon
    error becomes a 13 times larger x0 error); the cap keeps those samples from swamping the gradient."""
    if high_t is None:
        return None
    w_max = float(high_t[2]) if len(high_t) > 2 else 5.0
    return torch.clamp(((1 - ab) / ab).sqrt(), 1.0, w_max).flatten()


def diffusion_loss(model, batch, alpha_bar_t, T, gen, t=None, noise=None, low_t=None, high_t=None):
    """t and noise are drawn on the CPU generator (reproducible), then moved to the model's device."""
    dev = alpha_bar_t.device
    x0 = batch["x0"].to(dev)
    B = x0.shape[0]
    if t is None:
        t = draw_t(B, T, gen, low_t, high_t)
    if noise is None:
        noise = torch.randn(x0.shape, generator=gen)
    t, noise = t.to(dev), noise.to(dev)
    ab = alpha_bar_t[t].view(B, 1, 1, 1, 1)
    xt = ab.sqrt() * x0 + (1 - ab).sqrt() * noise
    args = (xt, t.float(), batch["pe"].to(dev), batch["anat"].to(dev), batch["region"].to(dev))
    if "cond" in batch:
        args = args + (batch["cond"].to(dev),)
    w = loss_weights(ab, high_t)
    if w is None:
        return F.l1_loss(model(*args), noise)
    per = (model(*args) - noise).abs().flatten(1).mean(1)
    return (per * w).mean()


def load_cfg(path):
    with open(path) as f:
        return json.load(f)


def base_state_dict(path):
    """The base U-Net parameters of a training checkpoint ({"model", ...}) or a weights file ({"base", ...})."""
    ck = torch.load(path, map_location="cpu")
    return ck["model"] if "model" in ck else ck["base"]


def build(cfg, controlnet_from=None, init_weights=None):
    base = MedDiffUNet(cfg)
    if controlnet_from:
        base.load_state_dict(base_state_dict(controlnet_from))
        cn = ControlNetSR(base)
        if init_weights:  # continue a ControlNet trained on another base (e.g. after a base fine-tune)
            ck = torch.load(init_weights, map_location="cpu")
            part = ck["controlnet"] if "controlnet" in ck else {k: v for k, v in ck["model"].items() if not k.startswith("base.")}
            missing, unexpected = cn.load_state_dict(part, strict=False)
            assert not unexpected and all(k.startswith("base.") for k in missing), (unexpected, missing)
        return cn
    if init_weights:  # start from trained weights (fresh optimizer), e.g. the shipped demo model
        base.load_state_dict(base_state_dict(init_weights))
    return base


class BatchStream(torch.utils.data.IterableDataset):
    """Endless training batches cut in DataLoader worker processes (a GPU outruns one CPU core cutting
    views); worker k draws from its own generator seeded from (seed, k)."""

    def __init__(self, items, cfg, with_cond, seed, level_probs=None):
        self.items, self.cfg, self.with_cond, self.seed, self.level_probs = items, cfg, with_cond, seed, level_probs

    def __iter__(self):
        info = torch.utils.data.get_worker_info()
        rng = np.random.default_rng([self.seed, 0 if info is None else info.id])
        while True:
            yield sample_batch(self.items, self.cfg["batch"], self.cfg["patch"], self.cfg["pe_L"], rng, self.with_cond,
                               level_probs=self.level_probs)


def fixed_val_batches(items, cfg, with_condition, n=8, seed=1234):
    rng = np.random.default_rng(seed)
    gen = torch.Generator().manual_seed(seed)
    batch = sample_batch(items, n, cfg["patch"], cfg["pe_L"], rng, with_condition, levels=[0, 1, 2])
    t = torch.linspace(20, cfg["T"] - 20, n).long()
    noise = torch.randn(batch["x0"].shape, generator=gen)
    return batch, t, noise


def train(cfg, out_dir, train_items, val_items, minutes=None, max_steps=None, ckpt_minutes=5.0,
          controlnet_from=None, seed=0, threads=1, log=print, device="cpu", low_t=None, workers=0, init_weights=None,
          level_probs=None, ema_decay=None, high_t=None, sr_condition=None):
    """ema_decay: also keep an exponential moving average of the weights (written to ema.pt in the same
    {"model", "state"} format as last.pt, so export and weights take either); batch-2 CPU training is noisy
    and the average is the better model to ship."""
    torch.set_num_threads(threads)
    dev = torch.device(device)
    os.makedirs(out_dir, exist_ok=True)
    with_cond = controlnet_from is not None
    model = build(cfg, controlnet_from, init_weights).to(dev)
    params = model.trainable_parameters() if with_cond else list(model.parameters())
    opt = torch.optim.Adam(params, lr=cfg["lr"])
    T = cfg["T"]
    alpha_bar = torch.tensor(cosine_alpha_bar(T), dtype=torch.float32, device=dev)
    state = {"step": 0, "seconds": 0.0, "history": [], "val": [], "cfg": cfg, "controlnet": with_cond,
             "train_cases": [i["name"] for i in train_items], "val_cases": [i["name"] for i in val_items],
             "low_t": low_t, "high_t": high_t, "level_probs": level_probs, "sr_condition": sr_condition if with_cond else None, "init_weights": init_weights}
    last = os.path.join(out_dir, "last.pt")
    rng = np.random.default_rng(seed)
    gen = torch.Generator().manual_seed(seed)
    if os.path.exists(last):
        ck = torch.load(last, map_location="cpu")
        model.load_state_dict(ck["model"])
        opt.load_state_dict(ck["opt"])
        state = ck["state"]
        rng = np.random.default_rng(seed + state["step"])
        gen = torch.Generator().manual_seed(seed + state["step"])
        log(f"resumed at step {state['step']}")
    ema, ema_path = None, os.path.join(out_dir, "ema.pt")
    if ema_decay:
        ema = build(cfg, controlnet_from, init_weights).to(dev).eval()
        ema.load_state_dict(torch.load(ema_path, map_location="cpu")["model"] if os.path.exists(ema_path) else model.state_dict())
        for p_ in ema.parameters():
            p_.requires_grad_(False)
    vb, vt, vn = fixed_val_batches(val_items or train_items, cfg, with_cond)

    def val_loss(m=None):
        m = m or model
        m.eval()
        with torch.no_grad():
            v = float(diffusion_loss(m, vb, alpha_bar, T, gen, t=vt, noise=vn))
        model.train()
        return v

    if not state["val"]:
        state["val"].append([0, val_loss()])
        log(f"step 0 val {state['val'][-1][1]:.4f}")

    def save():
        tmp = last + ".tmp"
        torch.save({"model": model.state_dict(), "opt": opt.state_dict(), "state": state}, tmp)
        os.replace(tmp, last)
        if ema is not None:
            torch.save({"model": ema.state_dict(), "state": dict(state, ema_decay=ema_decay)}, ema_path + ".tmp")
            os.replace(ema_path + ".tmp", ema_path)
        with open(os.path.join(out_dir, "state.json"), "w") as f:
            json.dump({k: v for k, v in state.items()}, f)

    model.train()
    t_start = time.time()
    sec0 = state["seconds"]
    last_ck = time.time()
    acc = cfg.get("grad_accum", 1)
    stream = None
    if workers > 0:
        stream = iter(torch.utils.data.DataLoader(BatchStream(train_items, cfg, with_cond, seed + state["step"], level_probs), batch_size=None,
                                                  num_workers=workers, prefetch_factor=4, persistent_workers=True))
    while True:
        if max_steps is not None and state["step"] >= max_steps:
            break
        if minutes is not None and (time.time() - t_start) > minutes * 60:
            break
        opt.zero_grad()
        tot = 0.0
        for _ in range(acc):
            batch = next(stream) if stream is not None else sample_batch(train_items, cfg["batch"], cfg["patch"], cfg["pe_L"], rng,
                                                                         with_cond, level_probs=level_probs)
            loss = diffusion_loss(model, batch, alpha_bar, T, gen, low_t=low_t, high_t=high_t) / acc
            loss.backward()
            tot += float(loss)
        opt.step()
        if ema is not None:
            with torch.no_grad():
                for pe_, pm_ in zip(ema.parameters(), model.parameters()):
                    if pm_.requires_grad:
                        pe_.mul_(ema_decay).add_(pm_.detach(), alpha=1.0 - ema_decay)
        state["step"] += 1
        state["seconds"] = sec0 + time.time() - t_start
        state["history"].append([state["step"], round(tot, 5)])
        if state["step"] % 50 == 0:
            h = [x[1] for x in state["history"][-50:]]
            log(f"step {state['step']} loss(avg50) {np.mean(h):.4f} {state['seconds']:.0f}s")
        if time.time() - last_ck > ckpt_minutes * 60:
            state["val"].append([state["step"], val_loss()] + ([val_loss(ema)] if ema is not None else []))
            log(f"step {state['step']} val {state['val'][-1][1:]}")
            save()
            last_ck = time.time()
    state["val"].append([state["step"], val_loss()] + ([val_loss(ema)] if ema is not None else []))
    log(f"final step {state['step']} val {state['val'][-1][1:]}")
    save()
    return model, state


def load_items(data_json=None, split="train", with_condition=False, cache_dir=None, sr_condition="replicate"):
    if data_json:
        with open(data_json) as f:
            spec = json.load(f)
        cases = []
        for s in spec:
            if s.get("split", "train") != split:
                continue
            vol, sp = D.read_volume(s["path"])
            name = s.get("name") or os.path.basename(s["path"].rstrip("/"))
            cases.append({"name": name, "hu": D.resample(vol, sp), "region": s["region"]})
    else:
        cases = [D.load_case(n, cache_dir) for n, _, _, sp in D.CATALOGUE if sp == split]
    return prepare_cases(cases, with_condition, sr_condition)


def main(argv=None):
    ap = argparse.ArgumentParser()
    ap.add_argument("--config", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--minutes", type=float)
    ap.add_argument("--steps", type=int)
    ap.add_argument("--ckpt-minutes", type=float, default=5.0)
    ap.add_argument("--controlnet", help="base checkpoint: train the SR ControlNet on top of it")
    ap.add_argument("--data", help="JSON list of {path, region, split} (default: the ../shared catalogue)")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--device", default="cpu", help="cpu or cuda (PyTorch 2.x on a GPU)")
    ap.add_argument("--workers", type=int, default=0, help="DataLoader processes cutting training views (0: in the training loop)")
    ap.add_argument("--init-weights", help="start from these weights (checkpoint or weights file), new optimizer: the base, or "
                    "with --controlnet the ControlNet part (e.g. weights/meddiff-fm-demo-sr.pt)")
    ap.add_argument("--low-t", help="FRACTION,T_MAX: draw that fraction of each batch's t from 0..T_MAX "
                    "(denoising fine-tune); default uniform on 0..T-1")
    ap.add_argument("--high-t", help="FRACTION,T_MIN[,W_MAX]: draw that fraction of t from T_MIN..T-1 and weight the loss "
                    "towards the x0 error there (anomaly-map fine-tune; W_MAX caps the weight, default 5)")
    ap.add_argument("--sr-condition", choices=SR_CONDITIONS, default="replicate",
                    help="with --controlnet: how the thick input reaches the thin grid (meddiff.thinslices); written to the card")
    ap.add_argument("--ema", type=float, help="EMA decay of the weights (e.g. 0.999), written to OUT/ema.pt")
    ap.add_argument("--level-probs", help="P_IMAGE,P_2P,P_P: probabilities of the three training views (default uniform). "
                    "The samplers only ever show the network native-resolution patches (the third view), so a fine-tune "
                    "can weight it up")
    a = ap.parse_args(argv)
    cfg = load_cfg(a.config)
    cache = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), ".cache")
    wc = a.controlnet is not None
    tr = load_items(a.data, "train", wc, cache, a.sr_condition)
    va = load_items(a.data, "validation", wc, cache, a.sr_condition)
    print("train:", [i["name"] for i in tr], "validation:", [i["name"] for i in va], flush=True)
    train(cfg, a.out, tr, va, a.minutes, a.steps, a.ckpt_minutes, a.controlnet, a.seed, a.threads,
          log=lambda s: print(time.strftime("%H:%M:%S"), s, flush=True), device=a.device,
          low_t=None if not a.low_t else (float(a.low_t.split(",")[0]), int(a.low_t.split(",")[1])),
          workers=a.workers, init_weights=a.init_weights,
          level_probs=None if not a.level_probs else [float(v) for v in a.level_probs.split(",")], ema_decay=a.ema,
          high_t=None if not a.high_t else [float(v) for v in a.high_t.split(",")], sr_condition=a.sr_condition)


if __name__ == "__main__":
    main()
