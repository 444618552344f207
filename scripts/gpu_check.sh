#!/usr/bin/env bash
# The GPU check in one command: the GPU-marked tests and the supernet benchmarks on CUDA, every
# figure printed (about 5 minutes on one GPU; run from anywhere after `make setup`):
#
#     scripts/gpu_check.sh            # or: make gpu-check
#
# Without a CUDA device it stops at once, saying so. Everything it calls also runs on the CPU
# (`python scripts/bench_supernet.py --device cpu`; the GPU tests' behaviour is tested on the CPU).
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PY:-.venv/bin/python}
[ -x "$PY" ] || PY=python3

"$PY" - <<'PYEOF'
import sys

import torch

if not torch.cuda.is_available():
    sys.exit(f"gpu_check: no CUDA device (torch {torch.__version__}, CUDA build: {torch.version.cuda or 'none'}); "
             "run it on a machine with an NVIDIA GPU and a CUDA build of torch")
print(f"gpu_check: {torch.cuda.get_device_name(0)}, torch {torch.__version__}, CUDA {torch.version.cuda}", flush=True)
PYEOF

start=$SECONDS
echo "== GPU tests (tests/test_supernet_gpu.py)"
"$PY" -m pytest -q -m gpu -p no:cacheprovider tests/test_supernet_gpu.py
echo "== supernet benchmarks on CUDA"
"$PY" scripts/bench_supernet.py --device cuda --what steps,pool,queries,load --sizes tiny,nb201,darts --rounds 3
echo "gpu_check: passed in $((SECONDS - start)) s"
