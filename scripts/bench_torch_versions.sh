#!/usr/bin/env bash
# `cma bench step` on LibTorch 1.13 (./build, Debian 12) and on LibTorch 2.6 (./build-torch2, in the
# Debian 13 root of scripts/torch2_root.sh), each beside the reference's step on the same torch
# (Debian's python3-torch, /usr/bin/python3: 1.13 here, 2.6 in the root), one after the other in one run. `cma bench
# step` times the reference at 1 thread and at all threads and divides by the faster. Prints a table
# and writes OUT_DIR/bench_<version>.log. Needs root (chroot), both builds, and $CMA_REF (a folder
# with the reference's cma/ and clip/ checkouts; ../shared/reference says how).
#
#   CMA_REF=... scripts/bench_torch_versions.sh OUT_DIR [cma bench step flags]
#   default flags: --batch 4 --frames 12 --steps 5 --precision fp32
set -euo pipefail
cd "$(dirname "$0")/.."
OUT=${1:?usage: CMA_REF=... scripts/bench_torch_versions.sh OUT_DIR [cma bench step flags]}
shift
mkdir -p "$OUT" && OUT=$(cd "$OUT" && pwd)
SRC=$PWD
REF_BENCH=$(cd "$SRC/.." && pwd)/shared/reference/ref_step_bench.py
: "${CMA_REF:?set CMA_REF to a folder holding the cma/ and clip/ checkouts of the reference}"
CMA_REF=$(cd "$CMA_REF" && pwd)
[ -f "$REF_BENCH" ] || { echo "bench_torch_versions: $REF_BENCH is missing (../shared)" >&2; exit 1; }
for b in build/cma build-torch2/cma; do
  [ -x "$b" ] || { echo "bench_torch_versions: $b is missing: scripts/setup.sh and scripts/torch2_check.sh build it" >&2; exit 1; }
done
FLAGS=("$@")
[ ${#FLAGS[@]} -gt 0 ] || FLAGS=(--batch 4 --frames 12 --steps 5 --precision fp32)
# shellcheck source=scripts/torch2_env.sh
source "$SRC/scripts/torch2_env.sh"
torch2_enter "$SRC" "$CMA_REF"

bench() {  # bench LABEL COMMAND-PREFIX...: cma bench step and the reference on one torch
  local label=$1
  shift
  echo "bench_torch_versions: $label"
  "$@" bench step "${FLAGS[@]}" --reference "$REF_BENCH" --python /usr/bin/python3 2>&1 | tee "$OUT/bench_$label.log"
}
bench libtorch1.13 env CMA_REF="$CMA_REF" "$SRC/build/cma"
bench libtorch2.6 in_root env CMA_REF="$CMA_REF" "$SRC/build-torch2/cma"

echo
echo "| LibTorch | reference 1 thread | reference all threads | cma (fastest variant) | cma / reference's fastest |"
echo "|---|---:|---:|---:|---:|"
for label in libtorch1.13 libtorch2.6; do
  log=$OUT/bench_$label.log
  one=$(grep -oE 'step +[0-9.]+ s at 1 thread ' "$log" | grep -oE '[0-9]+\.[0-9]+' | head -n 1)
  all=$(grep -oE 'step +[0-9.]+ s at [0-9]+ threads' "$log" | grep -oE '[0-9]+\.[0-9]+' | head -n 1)
  ours=$(grep -E '^cma ' "$log" | grep -oE 'step +[0-9.]+ s' | grep -oE '[0-9.]+' | sort -n | head -n 1)
  ratio=$(grep -oE 'reference fp32 \(same run\): [0-9.]+' "$log" | grep -oE '[0-9.]+$' | sort -n | head -n 1)
  echo "| ${label#libtorch} | ${one:--} s | ${all:--} s | ${ours:--} s | ${ratio:--} |"
done
grep -h '^cpu: ' "$OUT"/bench_libtorch1.13.log | head -n 1
