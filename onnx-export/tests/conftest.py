import os
import sys
import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, ROOT)

import torch  # noqa: E402

torch.set_num_threads(2)

from meddiff import SHARED_DIR, MODELS_DIR, GOLDEN_DIR  # noqa: E402

WEIGHTS = os.path.join(ROOT, "weights", "meddiff-fm-demo.pt")


def need_shared():
    if not os.path.isdir(os.path.join(SHARED_DIR, "data", "ct")):
        pytest.skip(f"shared CT data not found at {SHARED_DIR}/data/ct (<repo>/../shared): skipping data-dependent test")


def need_file(p, what):
    if not os.path.exists(p):
        pytest.skip(f"{what} not found: {p}")
