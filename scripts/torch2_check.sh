#!/usr/bin/env bash
# cma on LibTorch 2.x, checked on a machine without a GPU (README, "Builds"): makes or updates the
# Debian 13 root (scripts/torch2_root.sh), builds cma in it against Debian's LibTorch 2.6 built with
# CUDA 12.4 and NCCL, configured as the GPU machine builds it (scripts/cuda_config.sh), and runs the
# whole suite on that build's CPU path. The CUDA tests skip there, each saying that no GPU is
# visible. Writes OUT_DIR/summary.json and a log per stage beside it. Needs root (chroot, mount).
#
#   scripts/torch2_check.sh OUT_DIR        root: $CMA_TORCH2_ROOT, else ~/.cache/cma/trixie
#                                          build: ./build-torch2 (CMA_TORCH2_BUILD_DIR)
# Exit status: 0 when the build linked, every test passed or skipped, and gpu_check.sh refused the
# skipped CUDA tests; else 1.
set -uo pipefail
cd "$(dirname "$0")/.."
OUT=${1:?usage: scripts/torch2_check.sh OUT_DIR}
mkdir -p "$OUT" && OUT=$(cd "$OUT" && pwd)
SRC=$PWD
BUILD=$SRC/${CMA_TORCH2_BUILD_DIR:-build-torch2}
CONFIG=libtorch2.6-cuda-nccl
JOBS=$(nproc)
t0=$(date +%s)
declare -A took rc
say() { echo "torch2_check: $*"; }

stage() {  # stage NAME COMMAND...: runs it into OUT/NAME.log, recording its time and exit status
  local name=$1 start
  shift
  start=$(date +%s)
  say "$name (log: $OUT/$name.log) at $(( start - t0 )) s"
  "$@" >"$OUT/$name.log" 2>&1
  rc[$name]=$?
  took[$name]=$(( $(date +%s) - start ))
  say "$name exited ${rc[$name]} after ${took[$name]} s"
  [ "${rc[$name]}" -eq 0 ] || tail -n 20 "$OUT/$name.log"
  return "${rc[$name]}"
}

# shellcheck source=scripts/torch2_env.sh
source "$SRC/scripts/torch2_env.sh"
stage root bash "$SRC/scripts/torch2_root.sh" "$TORCH2_ROOT" || exit 1
case "$OUT/" in
  "$SRC/"*) torch2_enter "$SRC" ;;
  *) torch2_enter "$SRC" "$OUT" ;;  # the logs the root writes land here, not in the root's own folders
esac

# shellcheck source=scripts/cuda_config.sh
source "$SRC/scripts/cuda_config.sh"
configure() { in_root cmake -S "$SRC" -B "$BUILD" "${CMA_CUDA_CMAKE_FLAGS[@]}" -DCMA_WERROR=ON; }
build() { in_root cmake --build "$BUILD" -j "$JOBS"; }
# ldd: both load from the root's libraries; NEEDED: cma names them itself.
links() {
  in_root ldd "$BUILD/cma"
  echo "NEEDED:"
  in_root readelf -d "$BUILD/cma" | grep NEEDED
}
tests() { in_root ctest --test-dir "$BUILD" -j "$JOBS" --output-on-failure --output-junit "$OUT/ctest.xml"; }
# The GPU machine's script on this build, where no GPU is visible: its CUDA step must fail, naming
# the tests that skipped, rather than pass having tested nothing.
gpu_check_refuses_skips() {
  in_root env CMA_GPU_SYSROOT=/ CMA_GPU_BUILD_DIR="$BUILD" PYTHON=python3 bash "$SRC/scripts/gpu_check.sh" "$OUT/gpu_check"
  local r=$?
  echo "torch2_check: scripts/gpu_check.sh exited $r"
  [ "$r" -ne 0 ] && grep "gtest_ran_all: skipped: " "$OUT/gpu_check/cuda_tests.log"
}

if stage configure configure && stage build build && stage links links; then
  stage tests tests
  stage gpu_check_refuses_skips gpu_check_refuses_skips
fi
# LibTorch's version: the string after "#define TORCH_VERSION" (which Debian's header wraps onto the next line).
version=$(in_root find /usr/include -path '*torch/version.h' -exec grep -h -A1 'define TORCH_VERSION ' {} + 2>/dev/null | tr -d '\n\\')

python3 - "$OUT" "$CONFIG" "$version" "$(( $(date +%s) - t0 ))" \
  "$(for k in "${!took[@]}"; do echo "$k ${took[$k]} ${rc[$k]}"; done)" <<'PY'
import json, os, re, sys
import xml.etree.ElementTree as ET
out, config, version, total, stages = sys.argv[1:6]
stage = {l.split()[0]: {"seconds": int(l.split()[1]), "exit": int(l.split()[2])} for l in stages.splitlines() if l}
m = re.search(r'"([0-9][^"]*)"', version)
entry = {"name": config, "libtorch_version": m.group(1) if m else None, "stages": stage,
         "build_exit": stage.get("build", {}).get("exit")}
links = open(os.path.join(out, "links.log")).read() if os.path.exists(os.path.join(out, "links.log")) else ""
entry["cuda"] = "libtorch_cuda.so" in links
entry["links"] = {lib: bool(re.search(lib + r"[.\w]* => /", links)) for lib in ("libtorch_cuda", "libnccl", "libc10_cuda", "libcudart")}
entry["needed"] = re.findall(r"Shared library: \[([^\]]+)\]", links)
junit = os.path.join(out, "ctest.xml")
if os.path.exists(junit):
    passed, failed, skipped = [], [], []
    for case in ET.parse(junit).getroot().iter("testcase"):
        name, status = case.get("name"), case.get("status")
        if case.find("skipped") is not None or status in ("notrun", "disabled"):
            message = case.find("skipped")
            # The reason GoogleTest printed ("[  SKIPPED ] ... no GPU is visible") is in the output.
            text = (case.findtext("system-out") or "") + ((message.get("message") or "") if message is not None else "")
            reason = re.findall(r"(?:Skipped|SKIPPED)[^\n]*\n?([^\n]*)", text)
            skipped.append({"name": name, "why": next((r.strip() for r in reason if r.strip()), text.strip()[-200:])})
        elif status == "fail" or case.find("failure") is not None:
            failed.append(name)
        else:
            passed.append(name)
    entry["tests"] = {"total": len(passed) + len(failed) + len(skipped), "passed": len(passed),
                      "failed": len(failed), "skipped": len(skipped), "failed_names": failed, "skipped_tests": skipped}
summary = {"total_seconds": int(total), "configurations": [entry]}
json.dump(summary, open(os.path.join(out, "summary.json"), "w"), indent=2)
print(json.dumps(summary, indent=2))
PY
[ "${rc[tests]:-1}" -eq 0 ] && [ "${rc[links]:-1}" -eq 0 ] && [ "${rc[gpu_check_refuses_skips]:-1}" -eq 0 ]
