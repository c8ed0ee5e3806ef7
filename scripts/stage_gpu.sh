#!/usr/bin/env bash
# Stages what the GPU machine lacks for building cma into third_party/gpu/ (ignored by git), to be
# carried there beside the working tree (`carry: ["third_party/gpu"]`; see README, "GPUs and
# LibTorch 2.x"). Run it here, on Debian 12, after scripts/setup.sh.
#
# The GPU machine has CUDA, PyTorch 2.x with its LibTorch, CMake, ninja and a compiler, and none of
# the Debian -dev packages below. Their files are copied from this machine's installed packages
# into third_party/gpu/sysroot/ with their paths kept, so that CMake finds them through
# CMAKE_PREFIX_PATH=<sysroot>/usr. The libraries are Debian 12 builds (glibc 2.36, C++11 ABI), which
# run on the GPU machine's newer glibc. Nothing staged is committed.
#
# Not staged: ICU (cma uses utf8proc), OpenCV (the GPU build has -DCMA_WITH_OPENCV=OFF: JPEG frames
# through TurboJPEG), Open MPI (cma does not link it; mpirun only launches it). The carried tree must
# stay under the device tool's 64 MiB together with the working tree; this script says how big it is.
set -euo pipefail
cd "$(dirname "$0")/.."

PACKAGES=(nlohmann-json3-dev libcli11-dev libspdlog-dev libspdlog1.10 libfmt-dev libfmt9
  libgtest-dev libgmock-dev libturbojpeg0-dev libturbojpeg0 zlib1g-dev libutf8proc-dev libutf8proc2
  libgloo-dev)
DEST=third_party/gpu/sysroot

missing=()
for p in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "stage_gpu: these Debian packages must be installed here first: ${missing[*]}" >&2
  echo "stage_gpu: sudo apt-get install -y ${missing[*]}" >&2
  exit 1
fi

rm -rf "$DEST"
mkdir -p "$DEST"
for p in "${PACKAGES[@]}"; do
  # Files and the symbolic links between library versions; no documentation.
  dpkg -L "$p" | grep -v -e '^/usr/share/doc' -e '^/usr/share/man' -e '^/usr/share/lintian' |
    while read -r f; do
      if [ -f "$f" ] || [ -L "$f" ]; then
        mkdir -p "$DEST$(dirname "$f")"
        cp -a "$f" "$DEST$f"
      fi
    done
done

# The GPU machine's own Gloo headers, if its PyTorch ships them, must win over Debian's: Debian's go
# in a folder of their own that gpu_check.sh puts last.
mkdir -p "$DEST/gloo-include"
mv "$DEST/usr/include/gloo" "$DEST/gloo-include/gloo"

# The reference, for `cma bench train --reference` there (never committed): with CMA_REF set (cma/ and
# clip/ as ../shared/reference/README.md says) and a harness already in third_party/gpu/reference/,
# copies the reference's code and ../shared/reference's shims beside the harness.
if [ -n "${CMA_REF:-}" ]; then
  ref=third_party/gpu/reference
  mkdir -p "$ref"
  [ -f "$ref/ref_train_bench.py" ] || echo "stage_gpu: warning: no harness at $ref/ref_train_bench.py" >&2
  rm -rf "$ref/cma" "$ref/clip" "$ref/shims"
  cp -r "$CMA_REF/cma" "$CMA_REF/clip" "$ref/"
  rm -rf "$ref/cma/imgs" "$ref/cma/.git" "$ref/clip/.git" "$ref/clip/notebooks"
  cp -r "${CMA_SHARED_DIR:-../shared}/reference/shims" "$ref/shims"
  echo "stage_gpu: staged the reference from $CMA_REF into $ref"
fi

size=$(du -sm third_party/gpu | cut -f1)
tree=$(git ls-files -z | xargs -0 du -cb 2>/dev/null | tail -1 | cut -f1)
echo "stage_gpu: staged ${#PACKAGES[@]} packages into $DEST: ${size} MiB; the tracked tree is $((tree / 1048576)) MiB" \
  "(the device tool carries 64 MiB in all)"
