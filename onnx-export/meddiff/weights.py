"""Weights-only files (no optimizer state), what golden/, tests and evaluation load:
  weights/meddiff-fm-demo.pt     {"cfg", "base": state_dict}
  weights/meddiff-fm-demo-sr.pt  {"cfg", "controlnet": ControlNet-only state_dict, "sr_condition", "base_file_sha256"}

  /usr/bin/python3 -m meddiff.weights --base checkpoints/base/last.pt [--sr checkpoints/sr/last.pt] --out weights/meddiff-fm-demo.pt
"""
import argparse
import hashlib
import os
import torch


def sr_path(base_path):
    return base_path.replace(".pt", "-sr.pt")


def sr_condition(base_path):
    """How the ControlNet of a weights file takes the thick input (meddiff.thinslices), "replicate" for old files."""
    p = sr_path(base_path)
    if not os.path.exists(p):
        return None
    return torch.load(p, map_location="cpu").get("sr_condition") or "replicate"


def make(base_ckpt, sr_ckpt, out):
    b = torch.load(base_ckpt, map_location="cpu")
    w = {"cfg": b["state"]["cfg"], "base": b["model"]}
    if not (os.path.exists(out) and all(torch.equal(torch.load(out)["base"][k], v) for k, v in w["base"].items())):
        torch.save(w, out)  # unchanged base: keep the file (and its sha256) as it is
    if sr_ckpt:
        s = torch.load(sr_ckpt, map_location="cpu")
        sd = s["model"]
        for k, v in w["base"].items():  # the ControlNet's base is the locked base
            assert torch.equal(sd["base." + k], v), k
        torch.save({"cfg": w["cfg"], "controlnet": {k: v for k, v in sd.items() if not k.startswith("base.")},
                    "sr_condition": s["state"].get("sr_condition") or "replicate",
                    "base_file_sha256": hashlib.sha256(open(out, "rb").read()).hexdigest()}, sr_path(out))


if __name__ == "__main__":
    ap = argparse.ArgumentParser()
    ap.add_argument("--base", required=True)
    ap.add_argument("--sr")
    ap.add_argument("--out", required=True)
    a = ap.parse_args()
    make(a.base, a.sr, a.out)
