"""Weights-only files (no optimizer state): {"cfg", "base": state_dict, "controlnet": ctrl-only state_dict or None}.

  /usr/bin/python3 -m meddiff.weights --base checkpoints/base/last.pt [--sr checkpoints/sr/last.pt] --out weights/meddiff-fm-demo.pt
"""
import argparse
import torch


def make(base_ckpt, sr_ckpt, out):
    b = torch.load(base_ckpt, map_location="cpu")
    w = {"cfg": b["state"]["cfg"], "base": b["model"], "controlnet": None}
    if sr_ckpt:
        s = torch.load(sr_ckpt, map_location="cpu")
        sd = s["model"]
        for k, v in w["base"].items():  # the ControlNet's base is the locked base
            assert torch.equal(sd["base." + k], v), k
        w["controlnet"] = {k: v for k, v in sd.items() if not k.startswith("base.")}
    torch.save(w, out)


if __name__ == "__main__":
    ap = argparse.ArgumentParser()
    ap.add_argument("--base", required=True)
    ap.add_argument("--sr")
    ap.add_argument("--out", required=True)
    a = ap.parse_args()
    make(a.base, a.sr, a.out)
