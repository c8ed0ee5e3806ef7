#!/usr/bin/env bash
# Compiles (syntax only) every file with CUDA- or NCCL-guarded code as a CUDA build would see it,
# against Debian's LibTorch 1.13 headers and the CUDA toolkit's, so that code which only a GPU
# machine builds keeps compiling here. Needs ./build (scripts/setup.sh) for the compile commands,
# and the CUDA toolkit's headers (cuda_runtime_api.h, nccl.h; CUDA_HOME, default /usr/local/cuda).
# LibTorch 2.x's own branches (TORCH_VERSION_MAJOR >= 2) are checked only by a build on the GPU
# machine (scripts/gpu_check.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
CUDA_HOME=${CUDA_HOME:-/usr/local/cuda}
BUILD=${BUILD_DIR:-build}
if [ ! -f "$CUDA_HOME/include/cuda_runtime_api.h" ] || [ ! -f "$CUDA_HOME/include/nccl.h" ]; then
  echo "check_cuda_code: skipped: no CUDA toolkit headers with nccl.h under $CUDA_HOME (set CUDA_HOME)"
  exit 0
fi
[ -f "$BUILD/compile_commands.json" ] || { echo "check_cuda_code: $BUILD/compile_commands.json is missing: run scripts/setup.sh" >&2; exit 1; }

# Debian ships c10/cuda's headers without the one CMake generates for a CUDA build.
shim=$(mktemp -d)
trap 'rm -rf "$shim"' EXIT
mkdir -p "$shim/c10/cuda/impl"
echo '#define C10_CUDA_BUILD_SHARED_LIBS' >"$shim/c10/cuda/impl/cuda_cmake_macros.h"

mapfile -t files < <(grep -rlE 'CMA_WITH_CUDA|CMA_WITH_NCCL' src tests --include='*.cpp' | sort)
failed=0
for f in "${files[@]}"; do
  # The file's own compile command, without its output, dependency file and precompiled header.
  cmd=$(python3 - "$BUILD/compile_commands.json" "$f" <<'PY'
import json, shlex, sys, os
db, want = sys.argv[1], os.path.abspath(sys.argv[2])
for e in json.load(open(db)):
    if os.path.abspath(e["file"]) != want:
        continue
    args, out, skip = shlex.split(e["command"]), [], False
    for a in args:
        if skip:
            skip = False
        elif a in ("-o", "-MF", "-MT", "-include"):
            skip = True
        elif a not in ("-c", "-MD") and not a.endswith(".cpp") and "cmake_pch" not in a:
            out.append(a)
    print(" ".join(shlex.quote(a) for a in out))
    break
PY
)
  if [ -z "$cmd" ]; then
    echo "check_cuda_code: $f is not in $BUILD/compile_commands.json (re-run cmake)" >&2
    failed=1
    continue
  fi
  if eval "$cmd" -fsyntax-only -DCMA_WITH_CUDA=1 -DCMA_WITH_NCCL=1 -DUSE_C10D_NCCL=1 -isystem "$shim" \
      -isystem "$CUDA_HOME/include" -include include/cma/core/torch_pch.h "$f"; then
    echo "check_cuda_code: $f: ok"
  else
    echo "check_cuda_code: $f: FAILED" >&2
    failed=1
  fi
done
exit $failed
