"""Training data for a GPU machine, small enough to travel with the repository (device tool: the working
tree plus carried folders may not exceed 64 MiB; the repository itself is ~48 MB).

  cd onnx-export && /usr/bin/python3 -m meddiff.stage --out stage      # git-ignored onnx-export/stage/

Writes, for every catalogue case of the TRAINING split (plus the validation case, used only for the
validation loss), NAME.npz.xz: an .npz with `hu` (int16, HU clipped to -1024..3071) and `spacing` (z, y, x
mm), LZMA-compressed; in-plane axes finer than 1 mm are first resampled to 1 mm with the training code's own
separable linear resampling (training resamples every axis to 1 mm anyway: the same result up to rounding
to whole HU), and
stage/data.json lists them for `meddiff.train --data`. The Mayo data of ../shared/data/ldct is never
staged (testing only), and neither is anything not in the catalogue. About 15 MB in all.
"""
import argparse
import io
import json
import lzma
import os
import sys

import numpy as np

from . import data as D


def write_case(path, hu, spacing):
    buf = io.BytesIO()
    np.savez(buf, hu=np.clip(np.round(hu), -1024, 3071).astype(np.int16), spacing=np.asarray(spacing, dtype=np.float64))
    tmp = path + ".tmp"
    with open(tmp, "wb") as f:
        f.write(lzma.compress(buf.getvalue(), preset=9))
    os.replace(tmp, path)


def read_case(path):
    """-> (float32 HU [D,H,W], spacing (z, y, x) mm), as data.read_volume."""
    with open(path, "rb") as f:
        z = np.load(io.BytesIO(lzma.decompress(f.read())))
        return z["hu"].astype(np.float32), tuple(float(s) for s in z["spacing"])


def main(argv=None):
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", default="stage")
    a = ap.parse_args(argv)
    if not D.shared_available():
        print("stage: the shared data folder is absent; nothing staged.")
        return 0
    os.makedirs(a.out, exist_ok=True)
    entries, total = [], 0
    for name, rel, region, split in D.CATALOGUE:
        vol, sp = D.read_volume(D.find_path(rel))
        sp = np.asarray(sp, dtype=np.float64)
        if (sp < 1.0).any():
            new = np.where(sp < 1.0, 1.0, sp)
            vol = D.resample(vol, tuple(sp), tuple(new))
            sp = new
        path = os.path.join(a.out, name + ".npz.xz")
        write_case(path, vol, sp)
        size = os.path.getsize(path)
        total += size
        # paths relative to onnx-export/ (where meddiff.train runs)
        entries.append({"path": os.path.relpath(path), "region": region, "split": split, "name": name})
        print(f"stage: {name} ({split}) {vol.shape} spacing {tuple(round(s, 3) for s in sp)} -> {size / 1e6:.2f} MB", flush=True)
    with open(os.path.join(a.out, "data.json"), "w") as f:
        json.dump(entries, f, indent=1)
    print(f"stage: {len(entries)} cases, {total / 1e6:.1f} MB in {a.out}/")
    return 0


if __name__ == "__main__":
    sys.exit(main())
