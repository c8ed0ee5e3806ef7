#!/usr/bin/env bash
# Creates or updates the Debian 13 (trixie) root in which cma builds and tests against LibTorch 2.6
# built with CUDA 12.4 and NCCL (README, "Builds"). The root lives in a cache folder outside the
# checkout and is reused: a finished debootstrap is never repeated, and apt runs only when a package
# below is missing. Needs root (debootstrap, chroot, mount).
#
#   scripts/torch2_root.sh [ROOT]      ROOT defaults to $CMA_TORCH2_ROOT, else ~/.cache/cma/trixie
#
# Why each unusual step:
# - Debian's libtorch-cuda-2.6 depends on nvidia-cudnn, a downloader that needs NVIDIA's site and
#   fails here. A local stand-in package provides it, holding the libcudnn.so.9 of the CUDA toolkit
#   on this machine: a small dispatcher with no CUDA dependencies, which is all the loader needs
#   for LibTorch to load. Nothing in cma calls cuDNN on the CPU.
# - libcuda1 (the driver's user-space library) lets the CUDA build load on a machine with no GPU.
# - libgloo-cuda-dev: the CUDA LibTorch replaces Gloo with its CUDA build, whose headers are here.
# - libopenblas0-pthread: without it libblas.so.3 is the reference BLAS, 100x slower.
set -euo pipefail
ROOT=${1:-${CMA_TORCH2_ROOT:-${XDG_CACHE_HOME:-$HOME/.cache}/cma/trixie}}
MIRROR=${CMA_DEBIAN_MIRROR:-http://deb.debian.org/debian}
CUDNN_SO=${CMA_CUDNN_SO:-/usr/local/cuda/lib/libcudnn.so.9}
say() { echo "torch2_root: $*"; }
die() { echo "torch2_root: $*" >&2; exit 1; }

PACKAGES=(build-essential cmake ninja-build ccache pkg-config file
  libtorch-cuda-dev python3-torch-cuda nvidia-cuda-dev nvidia-cuda-toolkit libnccl-dev libcuda1
  libgloo-cuda-dev libopenblas0-pthread
  nlohmann-json3-dev libcli11-dev libspdlog-dev libgtest-dev libgmock-dev
  libopenmpi-dev openmpi-bin libutf8proc-dev zlib1g-dev libturbojpeg0-dev
  python3-torchvision python3-pil python3-pandas python3-numpy python3-regex python3-tqdm
  python3-yaml python3-boto3 python3-requests)

[ "$(id -u)" -eq 0 ] || die "needs root (debootstrap, chroot and mount): run it as root, or with sudo"
[ -f "$CUDNN_SO" ] || die "$CUDNN_SO is missing: LibTorch's CUDA build needs a libcudnn.so.9 to load; set CMA_CUDNN_SO to one (the CUDA toolkit's lib/libcudnn.so.9)"
command -v debootstrap >/dev/null || {
  say "installing debootstrap"
  apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q debootstrap
}

# debootstrap into ROOT.partial, renamed when done, so that an interrupted run starts again cleanly.
if [ ! -f "$ROOT/etc/debian_version" ]; then
  rm -rf "$ROOT.partial"
  mkdir -p "$(dirname "$ROOT")"
  say "debootstrap trixie into $ROOT (about a minute)"
  debootstrap --variant=minbase --components=main,contrib,non-free trixie "$ROOT.partial" "$MIRROR" \
    >"$ROOT.debootstrap.log" 2>&1 || die "debootstrap failed; its log: $ROOT.debootstrap.log"
  mv "$ROOT.partial" "$ROOT"
fi

in_root() { chroot "$ROOT" env DEBIAN_FRONTEND=noninteractive LC_ALL=C.UTF-8 "$@"; }
missing_packages() {
  local p
  for p in "$@"; do
    in_root dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || echo "$p"
  done
}

# The stand-in for nvidia-cudnn (see the top of the file), rebuilt only when absent.
install_cudnn_standin() {
  local pkg=$ROOT/tmp/cma-cudnn-standin
  rm -rf "$pkg" && mkdir -p "$pkg/DEBIAN" "$pkg/usr/lib/x86_64-linux-gnu"
  cp "$CUDNN_SO" "$pkg/usr/lib/x86_64-linux-gnu/libcudnn.so.9"
  cat >"$pkg/DEBIAN/control" <<'EOF'
Package: cma-cudnn-standin
Version: 9.0.0.312~cuda12
Architecture: amd64
Maintainer: cma <cma@localhost>
Provides: nvidia-cudnn (= 9.0.0.312~cuda12), libcudnn.so.9
Conflicts: nvidia-cudnn
Description: libcudnn.so.9 from the host's CUDA toolkit, so that LibTorch's CUDA build loads
EOF
  in_root dpkg-deb --build /tmp/cma-cudnn-standin /tmp/cma-cudnn-standin.deb >/dev/null
  in_root dpkg -i /tmp/cma-cudnn-standin.deb >/dev/null
  rm -rf "$pkg" "$pkg.deb"
}

mount_once() {  # mount_once TYPE-OR-BIND SOURCE TARGET
  mountpoint -q "$3" && return 0
  mkdir -p "$3"
  if [ "$1" = bind ]; then mount --bind "$2" "$3"; else mount -t "$1" "$2" "$3"; fi
}

mapfile -t missing < <(missing_packages cma-cudnn-standin "${PACKAGES[@]}")
if [ ${#missing[@]} -eq 0 ]; then
  say "$ROOT is up to date"
  exit 0
fi
say "installing into $ROOT: ${missing[*]}"
cp /etc/resolv.conf "$ROOT/etc/resolv.conf"
mount_once proc proc "$ROOT/proc"
trap 'umount "$ROOT/proc" 2>/dev/null || true' EXIT
[ -n "$(missing_packages cma-cudnn-standin)" ] && install_cudnn_standin
in_root apt-get update -q >/dev/null
in_root apt-get install -y -q --no-install-recommends "${PACKAGES[@]}" >"$ROOT.apt.log" 2>&1 ||
  die "apt-get install failed in $ROOT; its log: $ROOT.apt.log"
in_root apt-get clean
mapfile -t still < <(missing_packages "${PACKAGES[@]}")
[ ${#still[@]} -eq 0 ] || die "still missing after apt-get: ${still[*]}"
blas=$(in_root readlink -f /usr/lib/x86_64-linux-gnu/libblas.so.3)
case "$blas" in
  *openblas*) ;;
  *) die "libblas.so.3 in $ROOT is $blas, not OpenBLAS: LibTorch would be 100x slower" ;;
esac
say "$ROOT is ready: $(in_root dpkg-query -W -f='${Version}' libtorch-cuda-dev | sed 's/^/libtorch-cuda-dev /')"
