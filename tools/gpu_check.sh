#!/usr/bin/env bash
# The one prepared GPU session: CUDA tests, the full-mode reproduction and the training benchmark.
#
# Written for the project's lent device machine (one H200, its own python3 with torch; nothing fetched there):
#   device run, carry [".whl"]:  SIMCC_LAB_GIT_COMMIT=$(git rev-parse HEAD) bash tools/gpu_check.sh
# where .whl/ holds a cp312 pycocotools wheel (the one package the image lacks; see the device README for
# the pip download line). Works on any CUDA machine with the project's dependencies installed too.
#
# Full mode runs in phases into one folder: the resolution trend with seed 0 at every size first (a whole
# one-seed trend even if the budget ends early), then seeds 1 and 2 (the runner skips finished runs), then the
# Transformer experiment, each while the total budget lasts. Everything comes back through
# $OUT (at most 8 files): logs, and reports/full (results, report, figures) with the histories of any runs
# still unfinished, packed as full.tgz. The grid resumes from its checkpoints under runs/, so a second call
# on the still-warm machine continues it.
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
T0=$(date +%s)
log() { echo "[$(date +%H:%M:%S) +$(( $(date +%s) - T0 ))s] $*" | tee -a "$OUT/steps.txt"; }
left() { echo $(( ${TOTAL_BUDGET_S:=540} - ($(date +%s) - T0) )); }

log "device"
{ nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv; nproc
  $PY -c "import torch; print(torch.__version__, torch.cuda.is_available())"; } >"$OUT/device.txt" 2>&1

log "CUDA tests"
timeout "${TESTS_BUDGET_S:-90}" $PY -m pytest -p no:cacheprovider -q -ra tests/test_cuda.py \
    tests/test_codecs.py::test_cuda_matches_cpu tests/test_smoothing.py::test_cuda_labels_stay_on_the_device \
    >"$OUT/cuda_tests.txt" 2>&1
log "CUDA tests rc $?"

pack() {
    mkdir -p reports/full/histories
    for h in runs/reproduce-full/*/history.json; do
        [ -f "$h" ] && cp "$h" "reports/full/histories/$(basename "$(dirname "$h")").json"
    done
    tar czf "$OUT/full.tgz" reports/full
}
BENCH_S=${BENCH_BUDGET_S:-50}
# phase: "experiment seeds"; the trend first (seed 0 at every size, then all seeds), then the Transformer
for phase in "resolution 0" "resolution 0,1,2" "transformer 0,1,2"; do
    set -- $phase
    budget=$(( $(left) - BENCH_S - 20 ))
    if [ "$budget" -lt 30 ]; then log "full mode $1, seeds $2: no time left"; continue; fi
    log "full mode $1, seeds $2 (budget $budget s)"
    start=$(date +%s)
    timeout "$budget" $PY -m simcc_lab.cli reproduce --mode full --only "$1" --seeds "$2" --out reports/full \
        --jobs "${FULL_JOBS:-3}" >>"$OUT/full_log.txt" 2>&1
    log "full mode $1 seeds $2 rc $? in $(( $(date +%s) - start )) s (124: stopped at the budget; a rerun resumes)"
    pack
done
# the report over every finished run (the phases above each wrote one for their own experiment)
timeout 60 $PY -m simcc_lab.cli reproduce --mode full --report-only --out reports/full >>"$OUT/full_log.txt" 2>&1
pack

log "training benchmark"
timeout "$BENCH_S" $PY benchmarks/bench_train.py --device cuda --steps 20 --batch 256 --sizes 64x64,128x128,192x256 \
    --images 300 >"$OUT/bench_train.txt" 2>&1
log "benchmark rc $?"
