#!/bin/sh
# Runs the onnx-export test suite (from the repository root or anywhere). Debian python3-pytest.
cd "$(dirname "$0")/.." || exit 1
exec /usr/bin/python3 -m pytest -q -p no:cacheprovider onnx-export/tests "$@"
