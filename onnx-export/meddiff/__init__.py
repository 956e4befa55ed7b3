"""MedDiff-FM (Yu et al. 2024) re-implementation for the DICOM gateway: network, data,
training, ONNX export, reference sampler and CT simulation."""
import os

ONNX_EXPORT_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
REPO_ROOT = os.path.dirname(ONNX_EXPORT_DIR)
SHARED_DIR = os.environ.get("MEDDIFF_SHARED_DIR", os.path.join(os.path.dirname(REPO_ROOT), "shared"))  # <repo>/../shared
MODELS_DIR = os.path.join(REPO_ROOT, "models")
GOLDEN_DIR = os.path.join(ONNX_EXPORT_DIR, "golden")
