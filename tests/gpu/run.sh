#!/usr/bin/env bash
# Everything that needs CUDA, in one prepared run (at most 8 minutes on an H100), its figures
# written as Markdown:
#   * the CUDA tests: `pytest -m gpu` (TensorRT build/parity/cache/export tests) and the existing
#     CUDA tests (tests/engine/test_device.py, tests/watchdog/test_cuda_ops.py, the CUDA geometry test);
#   * tests/gpu/bench_gpu.py: FP16 batch 1 and 8, inspector (torch, TensorRT) vs ultralytics predict
#     on the same weights and vs ultralytics' TensorRT export; peak GPU memory for n/s at
#     imgsz 320/640/1280 (torch max_memory_allocated and nvidia-smi);
#   * a 5-minute GPU soak of the demo line (tests/soak/soak.py --duration 300 --device cuda);
#   * the demo line's throughput vs the engine's, without and with runtime.postprocess_stage
#     (tests/bench/bench_pipeline.py --device cuda [--postprocess-stage]), if time is left.
# The soak runs alongside the tests, the builds (plans, exports) and the memory rows (each its own
# process); the timed speed runs come after it, on an idle GPU. Every step has a time limit.
#
#   tests/gpu/run.sh [REPORT.md]   # report: $OUT/gpu-results.md when $OUT is set, else REPORT.md,
#                                  # else ./gpu-results.md
# Environment: INSPECTOR_GPU_PYTHON (an interpreter to use as it is: no install), INSPECTOR_WHEELS
# (wheels for a machine without a package registry: tests/gpu/wheels.sh; see tests/gpu/install.sh).
# Without a CUDA GPU it skips every GPU step, says which and why, and exits 0.
set -u -o pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cd "$ROOT" || exit 1
if [ -n "${OUT:-}" ]; then REPORT=$OUT/gpu-results.md; else REPORT=${1:-$ROOT/gpu-results.md}; fi
LOGS=$(mktemp -d /tmp/inspector-gpu-XXXXXX)
WORK=$LOGS/work
T0=$(date +%s)
DEADLINE=$((T0 + 470)) # 8 minutes, less the time to write the report
export PYTHONUNBUFFERED=1 YOLO_OFFLINE=1 YOLO_AUTOINSTALL=0 PYTHONPATH=$ROOT
: > "$LOGS/summary"
: > "$LOGS/skipped"

say() { echo "[gpu +$(($(date +%s) - T0))s] $*"; }
md() { printf '%s\n' "$@" >> "$REPORT"; }
skip() { echo "- $1: skipped ($2)" | tee -a "$LOGS/skipped"; }
left() { echo $((DEADLINE - $(date +%s) - ${1:-0})); }

# step NAME LIMIT CMD...: CMD under `timeout` (LIMIT seconds, less if the run's deadline is nearer),
# output in $LOGS/NAME.log, one line in the summary.
step() {
    local name=$1 limit=$2 rc t
    shift 2
    [ "$limit" -gt "$(left)" ] && limit=$(left)
    if [ "$limit" -lt 10 ]; then
        skip "$name" "no time left in the 8-minute budget"
        echo "| $name | not run: no time left | 0 s |" >> "$LOGS/summary"
        return 124
    fi
    say "$name (limit ${limit}s)"
    t=$(date +%s)
    timeout --kill-after=15 "$limit" "$@" > "$LOGS/$name.log" 2>&1
    rc=$?
    local status="exit $rc"
    if [ $rc -eq 124 ] || [ $rc -eq 137 ]; then status="TIMED OUT (${limit} s)"; fi
    echo "| $name | $status | $(($(date +%s) - t)) s |" >> "$LOGS/summary"
    say "$name: $status"
    return $rc
}

CUDA_TESTS=(tests/engine/test_device.py tests/watchdog/test_cuda_ops.py
    "tests/rules/test_rules_geometry.py::test_features_on_cuda_match_cpu")
CUDA_ONLY=(tests/engine/test_device.py::test_cuda_fp16_matches_cpu_fp32 tests/engine/test_device.py::test_cuda_compile_runs
    tests/watchdog/test_cuda_ops.py "tests/rules/test_rules_geometry.py::test_features_on_cuda_match_cpu")

cpu_path() {
    # No CUDA GPU: nothing to measure. Say what is skipped and why, and show the tests' own skip
    # reasons where an environment with inspector is at hand (no install on a CPU machine).
    local py=${INSPECTOR_GPU_PYTHON:-$ROOT/.venv/bin/python}
    local why="no CUDA GPU on this machine ($1)"
    for what in "CUDA tests (pytest -m gpu, ${CUDA_TESTS[*]})" "TensorRT build/parity/cache tests" \
        "bench_gpu.py speed (FP16 batch 1 and 8 vs ultralytics predict and its TensorRT export)" \
        "bench_gpu.py memory (n/s at 320/640/1280)" "5-minute GPU soak of the demo line" \
        "line vs engine throughput without and with runtime.postprocess_stage (bench_pipeline.py)"; do
        skip "$what" "$why"
    done
    {
        echo "# GPU checks (tests/gpu/run.sh) — $(date -u '+%Y-%m-%d %H:%M UTC'), $(hostname)"
        echo
        echo "No CUDA GPU: every GPU step was skipped ($1)."
        echo
        cat "$LOGS/skipped"
    } > "$REPORT"
    if "$py" -c "import inspector, pytest" 2> /dev/null; then
        step "pytest-skips" 300 "$py" -m pytest -q -rs -p no:cacheprovider tests/engine/test_tensorrt_gpu.py \
            "${CUDA_ONLY[@]}"
        grep -E "SKIPPED|passed|skipped|deselected|error" "$LOGS/pytest-skips.log"
        md "" "How the GPU tests skip here:" '```' "$(grep -E "SKIPPED|passed|skipped" "$LOGS/pytest-skips.log")" '```'
    fi
    say "report: $REPORT"
    exit 0
}

if ! command -v nvidia-smi > /dev/null; then cpu_path "nvidia-smi is not installed"; fi
if ! nvidia-smi -L > "$LOGS/gpus" 2>&1; then cpu_path "nvidia-smi -L failed: $(head -c 200 "$LOGS/gpus" | tr '\n' ' ')"; fi
if [ -n "${INSPECTOR_GPU_PYTHON:-}" ]; then
    PY=$INSPECTOR_GPU_PYTHON
else
    step install 240 bash tests/gpu/install.sh || {
        tail -20 "$LOGS/install.log"
        echo "# GPU checks: the environment could not be installed" > "$REPORT"
        md '```' "$(tail -30 "$LOGS/install.log")" '```'
        exit 1
    }
    PY=$(tail -n 1 "$LOGS/install.log")
fi
if ! "$PY" -c "import torch, sys; sys.exit(0 if torch.cuda.is_available() else 1)" 2> /dev/null; then
    cpu_path "nvidia-smi sees $(head -1 "$LOGS/gpus"), but torch.cuda.is_available() is false in $PY"
fi
"$PY" - > "$LOGS/versions.md" 2>&1 << 'EOF'
import importlib, subprocess, torch
smi = subprocess.run(["nvidia-smi", "--query-gpu=name,driver_version,memory.total", "--format=csv,noheader"],
                     capture_output=True, text=True).stdout.strip()
def version(name):
    try:
        return importlib.import_module(name).__version__
    except Exception as exc:
        return f"not available ({type(exc).__name__}: {str(exc)[:120]})"
print("| what | value |\n| --- | --- |")
print(f"| GPU (nvidia-smi: name, driver, memory) | {smi} |")
print(f"| torch sees | {torch.cuda.get_device_name(0)}, compute {'.'.join(map(str, torch.cuda.get_device_capability(0)))} |")
print(f"| CUDA (torch build) | {torch.version.cuda} |")
print(f"| torch | {torch.__version__} |")
print(f"| TensorRT | {version('tensorrt')} |")
print(f"| ultralytics | {version('ultralytics')} |")
print(f"| inspector | {version('inspector')} |")
EOF
HAVE_TRT=1
"$PY" -c "import tensorrt" 2> /dev/null || HAVE_TRT=0
[ $HAVE_TRT -eq 1 ] || skip "TensorRT rows and tests" "tensorrt is not importable in $PY: the tests skip, the bench rows say so"

# While the soak runs (its own processes, its own GPU work): tests, builds, memory rows.
step soak 380 "$PY" tests/soak/soak.py --duration 300 --device cuda --json "$LOGS/soak.json" \
    --log "$LOGS/soak-log.jsonl" &
SOAK=$!
step pytest-gpu 200 "$PY" -m pytest -q -rs -p no:cacheprovider -m gpu tests
step pytest-cuda 90 "$PY" -m pytest -q -rs -p no:cacheprovider "${CUDA_TESTS[@]}"
step prepare 150 "$PY" tests/gpu/bench_gpu.py prepare --workdir "$WORK"
step memory 150 "$PY" tests/gpu/bench_gpu.py memory --workdir "$WORK" --timeout 45
wait $SOAK
# The timed runs, on an idle GPU.
step speed 120 "$PY" tests/gpu/bench_gpu.py speed --workdir "$WORK" --frames 30 --rounds 3
step line-one-step 40 "$PY" tests/bench/bench_pipeline.py --device cuda --frames 128 --repeats 2
step line-post-stage 40 "$PY" tests/bench/bench_pipeline.py --device cuda --frames 128 --repeats 2 \
    --postprocess-stage

{
    echo "# GPU checks (tests/gpu/run.sh) — $(date -u '+%Y-%m-%d %H:%M UTC')"
    echo
    echo "Wall time: $(($(date +%s) - T0)) s. Commit: $(git -C "$ROOT" rev-parse --short HEAD 2> /dev/null || echo unknown)."
    echo
    cat "$LOGS/versions.md"
    echo
    echo "## Steps"
    echo
    echo "| step | result | took |"
    echo "| --- | --- | --- |"
    cat "$LOGS/summary"
    echo
    [ -s "$LOGS/skipped" ] && { echo "Skipped:"; echo; cat "$LOGS/skipped"; echo; }
    echo "## Tests"
    echo
    for name in pytest-gpu pytest-cuda; do
        echo "\`$name\`:"
        echo '```'
        grep -E "SKIPPED|FAILED|ERROR|passed|failed|skipped" "$LOGS/$name.log" | tail -30
        echo '```'
    done
    echo
    echo "## Speed"
    echo
    grep -E "^(#|\||$)" "$LOGS/speed.log" || tail -20 "$LOGS/speed.log"
    echo "## Line vs engine (bench_pipeline.py, demo model, batch 1): without / with runtime.postprocess_stage"
    echo
    for name in line-one-step line-post-stage; do
        echo "\`$name\`:"
        echo '```'
        grep -E "^(model|  pipeline|raw engine|pipeline|CPU ms|ratio)" "$LOGS/$name.log" 2> /dev/null || echo "(not run)"
        echo '```'
    done
    echo
    echo "## Memory"
    echo
    grep -E "^(#|\||$)" "$LOGS/memory.log" || tail -20 "$LOGS/memory.log"
    echo "## Soak (5 minutes, demo line, --device cuda; alongside the tests and builds above)"
    echo
    echo '```'
    tail -40 "$LOGS/soak.log"
    echo '```'
    echo
    echo "Builds (untimed): "
    echo '```'
    grep "^prepare:" "$LOGS/prepare.log"
    echo '```'
} > "$REPORT" 2>&1
say "report: $REPORT (logs: $LOGS)"
[ -n "${OUT:-}" ] && cp "$LOGS/soak.json" "$OUT/soak.json" 2> /dev/null
cat "$LOGS/summary"
! grep -qE "exit [1-9]|TIMED OUT" "$LOGS/summary" # non-zero when a step failed or ran out of time
