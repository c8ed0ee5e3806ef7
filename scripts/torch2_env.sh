# Running commands in the Debian 13 root of scripts/torch2_root.sh; sourced by scripts/torch2_check.sh
# and scripts/bench_torch_versions.sh. Needs root (chroot, mount).
#   torch2_enter SRC [EXTRA_DIR...]  mounts /proc, /dev, /sys, the checkout SRC and its ../shared (where it
#                                    is), and each EXTRA_DIR, at the same paths inside the root, so
#                                    that paths in messages and compile commands are this machine's
#                                    and the tests find ../shared's fixtures; all are unmounted on exit
#   in_root COMMAND...               runs COMMAND there with a clean environment
# shellcheck shell=bash
TORCH2_ROOT=${CMA_TORCH2_ROOT:-${XDG_CACHE_HOME:-$HOME/.cache}/cma/trixie}
torch2_mounts=()

torch2_mount() {  # torch2_mount SOURCE PATH-INSIDE-ROOT [proc]
  local target=$TORCH2_ROOT$2
  mountpoint -q "$target" && return 0
  mkdir -p "$target"
  if [ "${3:-}" = proc ]; then mount -t proc proc "$target"; else mount --rbind "$1" "$target"; fi
  torch2_mounts=("$target" "${torch2_mounts[@]}")
}

torch2_leave() {
  local m
  for m in "${torch2_mounts[@]}"; do umount -R "$m" 2>/dev/null || umount -lR "$m" 2>/dev/null || true; done
  torch2_mounts=()
}

torch2_enter() {
  local src=$1 d
  shift
  trap torch2_leave EXIT
  torch2_mount proc /proc proc
  torch2_mount /dev /dev
  torch2_mount /sys /sys  # LibTorch's CPU detection (cpuinfo) and lscpu read it
  torch2_mount "$src" "$src"
  [ -d "$(dirname "$src")/shared" ] && torch2_mount "$(dirname "$src")/shared" "$(dirname "$src")/shared"
  for d in "$@"; do torch2_mount "$d" "$d"; done
}

in_root() {
  chroot "$TORCH2_ROOT" env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/root LC_ALL=C.UTF-8 TMPDIR=/tmp \
    CCACHE_DISABLE="${CCACHE_DISABLE:-}" "$@"
}
