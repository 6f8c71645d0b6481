#!/usr/bin/env bash
# The one prepared GPU session: CUDA tests, the full-mode reproduction and the training benchmark.
#
# Written for the project's lent device machine (one H200, its own python3 with torch; nothing fetched there):
#   device run, carry [".whl"]:  bash tools/gpu_check.sh
# where .whl/ holds a cp312 pycocotools wheel (the one package the image lacks; see the device README for
# the pip download line). Works on any CUDA machine with the project's dependencies installed too.
#
# Everything comes back through $OUT (at most 8 files): logs, and reports/full packed as full.tgz. The full
# grid resumes from its checkpoints under runs/, so a second call on the still-warm machine continues it.
set -uo pipefail
OUT=${OUT:-/tmp/simcc_gpu_out}
mkdir -p "$OUT"
export PYTHONUNBUFFERED=1 MPLBACKEND=Agg
PY=${PY:-python3}
SITE=/tmp/simcc_site
if [ -d .whl ] && ls .whl/*.whl >/dev/null 2>&1; then
    $PY -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target "$SITE" .whl/*.whl \
        || { echo "gpu_check: could not install the carried wheels" >&2; exit 3; }
    export PYTHONPATH="$SITE:$PWD"
else
    export PYTHONPATH="$PWD"
fi
log() { echo "[$(date +%H:%M:%S)] $*" | tee -a "$OUT/steps.txt"; }

log "device"
{ nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv; $PY -c "import torch; print(torch.__version__, torch.cuda.is_available())"; } \
    >"$OUT/device.txt" 2>&1

log "CUDA tests (tests that skip without a GPU, and the engine/data paths)"
timeout 240 $PY -m pytest -p no:cacheprovider -q -ra tests/test_codecs.py tests/test_smoothing.py tests/test_crops.py \
    tests/test_engine.py tests/test_losses.py tests/test_models.py >"$OUT/cuda_tests.txt" 2>&1
log "CUDA tests rc $?"

log "full-mode reproduction (budget ${FULL_BUDGET_S:=420} s)"
start=$(date +%s)
timeout "$FULL_BUDGET_S" $PY -m simcc_lab.cli reproduce --mode full --out reports/full --jobs "${FULL_JOBS:-3}" \
    >"$OUT/full_log.txt" 2>&1
rc=$?
log "full mode rc $rc in $(( $(date +%s) - start )) s (124: stopped at the budget; a rerun resumes)"
[ -d reports/full ] && tar czf "$OUT/full.tgz" reports/full

log "training benchmark"
timeout 90 $PY benchmarks/bench_train.py --device cuda --steps 20 --batch 256 --sizes 64x64,128x128,192x256 \
    --images 300 >"$OUT/bench_train.txt" 2>&1
log "benchmark rc $?"
