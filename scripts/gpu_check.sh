#!/usr/bin/env bash
# The GPU machine's whole check in one call (README, "GPUs and LibTorch 2.x"): configure against the
# LibTorch inside its PyTorch, build with every core, run the suite and the CUDA tests, run
# `cma bench train`, and write logs and a JSON summary into OUT_DIR. Meant to finish within 8
# minutes of a bare machine; each stage's time is in the summary.
#
#   here:  bash scripts/stage_gpu.sh                      (what the machine lacks, into third_party/gpu)
#   there: bash scripts/gpu_check.sh "$OUT"               (device tool: carry ["third_party/gpu"])
#
# Environment: CMA_GPU_BENCH_ARGS replaces the benchmark's arguments; CMA_REF_TRAIN_BENCH (a path in
# the carried tree) runs the reference's harness beside it.
set -uo pipefail
cd "$(dirname "$0")/.."
OUT=${1:?usage: scripts/gpu_check.sh OUT_DIR}
mkdir -p "$OUT"
ROOT=$PWD
# What the GPU machine lacks, staged by scripts/stage_gpu.sh; CMA_GPU_SYSROOT=/ where the packages are
# installed (scripts/torch2_check.sh runs this script in its Debian 13 root).
SYSROOT=${CMA_GPU_SYSROOT:-$ROOT/third_party/gpu/sysroot}
SYSROOT=${SYSROOT%/}  # "/" becomes "", so that paths below read /usr/include, as CMake caches them
BUILD=${CMA_GPU_BUILD_DIR:-build-gpu}
PY=${PYTHON:-python3}
t0=$(date +%s)
declare -A took rc
elapsed() { echo $(( $(date +%s) - t0 )); }

step() {  # step NAME LOG COMMAND...: runs it, logging, and records its time and exit status
  local name=$1 log=$2 start
  shift 2
  start=$(date +%s)
  echo "gpu_check: $name (log: $log) at $(elapsed) s"
  "$@" >"$OUT/$log" 2>&1
  rc[$name]=$?
  took[$name]=$(( $(date +%s) - start ))
  echo "gpu_check: $name exited ${rc[$name]} after ${took[$name]} s"
  tail -n 5 "$OUT/$log"
}

summary() {
  {
    echo "{"
    echo "  \"total_s\": $(elapsed),"
    for k in "${!took[@]}"; do echo "  \"$k\": {\"seconds\": ${took[$k]}, \"exit\": ${rc[$k]}},"; done
    echo "  \"card\": \"$(head -n 1 "$OUT/machine.txt" 2>/dev/null | tr -d '"\\')\""
    echo "}"
  } >"$OUT/summary.json"
  cat "$OUT/summary.json"
}
trap summary EXIT

[ -d "$SYSROOT/usr/include" ] || { echo "gpu_check: $SYSROOT is missing: run scripts/stage_gpu.sh here and carry third_party/gpu" >&2; exit 2; }

machine() {
  nvidia-smi --query-gpu=name,memory.total,driver_version,clocks.sm,clocks.max.sm --format=csv,noheader
  nvidia-smi
  "$PY" -c 'import torch; print("torch", torch.__version__, "cuda", torch.version.cuda, torch.cuda.get_device_name(0))'
  nvcc --version | tail -n 2
  cmake --version | head -n 1
  echo "ninja $(ninja --version)"
  c++ --version | head -n 1
  echo "cores $(nproc)"
  lscpu | grep -E 'Model name|Flags' | cut -c1-200
}
step machine machine.txt machine

TORCH_PREFIX=$("$PY" -c 'import torch; print(torch.utils.cmake_prefix_path)')
TORCH_INCLUDE=$("$PY" -c 'import os, torch; print(os.path.join(os.path.dirname(torch.__file__), "include"))')
# nccl.h: the nvidia-nccl wheel beside PyTorch has it; else the system's or the CUDA toolkit's.
NCCL_INCLUDE=$("$PY" -c 'import os, nvidia.nccl as n; print(os.path.join(list(n.__path__)[0], "include"))' 2>/dev/null)
for d in /usr/include /usr/local/cuda/include; do
  [ -f "$NCCL_INCLUDE/nccl.h" ] || NCCL_INCLUDE=$d
done
[ -f "$NCCL_INCLUDE/nccl.h" ] || NCCL_INCLUDE=$(dirname "$(find / -xdev -name nccl.h -path '*include*' 2>/dev/null | head -n 1)")
# Gloo's headers: PyTorch's own where it ships them, else Debian's (staged, or installed).
GLOO_INCLUDE=$TORCH_INCLUDE
for d in "$SYSROOT/gloo-include" "$SYSROOT/usr/include"; do
  [ -f "$GLOO_INCLUDE/gloo/config.h" ] || GLOO_INCLUDE=$d
done

# shellcheck source=scripts/cuda_config.sh
source "$ROOT/scripts/cuda_config.sh"
configure() {
  cmake -S "$ROOT" -B "$BUILD" "${CMA_CUDA_CMAKE_FLAGS[@]}" \
    -DCMAKE_PREFIX_PATH="$TORCH_PREFIX;$SYSROOT/usr" -DCMAKE_LIBRARY_ARCHITECTURE=x86_64-linux-gnu \
    -DGLOO_INCLUDE_DIR="$GLOO_INCLUDE" -DCMA_NCCL_INCLUDE_DIR="$NCCL_INCLUDE"
}
step configure configure.log configure
[ "${rc[configure]}" -eq 0 ] || exit 1
step build build.log cmake --build "$BUILD" -j "$(nproc)"
[ "${rc[build]}" -eq 0 ] || exit 1

# The CUDA cases first (the point of this run). Where the process sees no GPU they all skip, and a
# run that tested nothing must not pass: the step fails unless every case ran and passed
# (scripts/gtest_ran_all.py reads GoogleTest's report). The rest needs a GPU, so it stops there.
CUDA_FILTER='Cuda.*:Resume.Cuda*:*cuda_fp32*:*cuda_fp16*'
cuda_tests() {  # cuda_tests NAME FILTER: the cases, then the check that none skipped
  "$BUILD/tests/cma_tests" --gtest_filter="$2" --gtest_color=no --gtest_output="json:$OUT/$1.json"
  local tests_rc=$?
  "$PY" "$ROOT/scripts/gtest_ran_all.py" "$OUT/$1.json" || return 1
  return $tests_rc
}
step cuda_tests cuda_tests.log cuda_tests cuda_tests "$CUDA_FILTER"
[ "${rc[cuda_tests]}" -eq 0 ] || { echo "gpu_check: the CUDA tests did not all run and pass; stopping" >&2; exit 1; }
# Bitwise resume in fp16 again, in a second process: a pass must not be luck. Its log says which
# attention kernel ran (--deterministic: unfused).
step cuda_resume_again cuda_resume_again.log cuda_tests cuda_resume_again 'Resume.CudaFp16*'
grep -h "attention on CUDA" "$OUT/cuda_tests.log" "$OUT/cuda_resume_again.log" | sort -u >"$OUT/attention.txt"
cat "$OUT/attention.txt"
step suite ctest.log ctest --test-dir "$BUILD" -j 8 --output-on-failure

BENCH_ARGS=${CMA_GPU_BENCH_ARGS:---device cuda --batches 32,128 --modes model,cache,jpeg --warmup 2 --steps 5 --videos 160}
REF_ARGS=()
[ -n "${CMA_REF_TRAIN_BENCH:-}" ] && REF_ARGS=(--reference "$CMA_REF_TRAIN_BENCH" --python "$PY")
# shellcheck disable=SC2086
step bench bench.log "$BUILD/cma" bench train $BENCH_ARGS "${REF_ARGS[@]}" --data "${TMPDIR:-/tmp}/cma_gpu_bench" \
  --json "$OUT/bench.json"
