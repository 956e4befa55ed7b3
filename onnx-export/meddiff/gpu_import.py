"""Moves GPU-trained models between machines as weights-only files (the device tool returns files of at
most 16 MiB; a training checkpoint with its Adam state is 3x the weights).

  --pack DIR --out OUT     (on the GPU machine) DIR/base/last.pt + DIR/sr/last.pt ->
                           OUT/base.pt {"model", "state"}, OUT/sr-controlnet.pt {"model": ControlNet part only,
                           "state"} (no optimizer state), and the two state.json training histories
  --from OUT --out CKPT    (here) -> CKPT/base/last.pt and CKPT/sr/last.pt in meddiff.train's checkpoint format
                           (full ControlNetSR state dict), ready for meddiff.export / meddiff.weights
"""
import argparse
import json
import os
import sys

import torch


def pack(src, out):
    os.makedirs(out, exist_ok=True)
    b = torch.load(os.path.join(src, "base", "last.pt"), map_location="cpu")
    torch.save({"model": b["model"], "state": b["state"]}, os.path.join(out, "base.pt"))
    s = torch.load(os.path.join(src, "sr", "last.pt"), map_location="cpu")
    for k, v in b["model"].items():  # the ControlNet's locked base must be the base that was just trained
        assert torch.equal(s["model"]["base." + k].cpu(), v.cpu()), k
    cn = {k: v for k, v in s["model"].items() if not k.startswith("base.")}
    torch.save({"model": cn, "state": s["state"]}, os.path.join(out, "sr-controlnet.pt"))
    for part in ("base", "sr"):
        with open(os.path.join(src, part, "state.json")) as f, open(os.path.join(out, part + "-state.json"), "w") as g:
            st = json.load(f)
            st["history"] = st["history"][-2000:]  # keep the file small; the loss curve's tail is what matters
            json.dump(st, g)


def unpack(src, out):
    b = torch.load(os.path.join(src, "base.pt"), map_location="cpu")
    s = torch.load(os.path.join(src, "sr-controlnet.pt"), map_location="cpu")
    full = {("base." + k): v for k, v in b["model"].items()}
    full.update(s["model"])
    for part, ck in (("base", {"model": b["model"], "state": b["state"]}), ("sr", {"model": full, "state": s["state"]})):
        os.makedirs(os.path.join(out, part), exist_ok=True)
        torch.save(ck, os.path.join(out, part, "last.pt"))
        with open(os.path.join(out, part, "state.json"), "w") as f:
            json.dump(ck["state"], f)
    print(f"gpu_import: {out}/base/last.pt (step {b['state']['step']}), {out}/sr/last.pt (step {s['state']['step']})")


def main(argv=None):
    ap = argparse.ArgumentParser()
    g = ap.add_mutually_exclusive_group(required=True)
    g.add_argument("--pack", help="training output folder with base/ and sr/ (GPU side)")
    g.add_argument("--from", dest="src", help="folder with base.pt and sr-controlnet.pt (here)")
    ap.add_argument("--out", required=True)
    a = ap.parse_args(argv)
    if a.pack:
        pack(a.pack, a.out)
    else:
        unpack(a.src, a.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
