#!/usr/bin/env bash
# N ranks of cma on this machine.
#
#   scripts/launch_one_node.sh 4 train --config configs/msrvtt_vitb32.json
#   LAUNCHER=env scripts/launch_one_node.sh 2 train --config configs/tiny_demo.json --anno_path ...
#
# LAUNCHER=mpirun (the default when Open MPI's mpirun is installed) runs
#   mpirun -np N --bind-to none --oversubscribe -x MASTER_ADDR -x MASTER_PORT build/cma ...
#   --bind-to none     Open MPI pins each rank to one core (or socket) by default; cma's threads need more.
#   --oversubscribe    Open MPI refuses more ranks than the cores it counts; cma's ranks are not MPI
#                      ranks busy-waiting, so that limit does not apply.
#   --allow-run-as-root  added when run as root (containers): Open MPI refuses to start otherwise.
#   -x VAR             mpirun passes only variables named with -x on to the ranks.
# LAUNCHER=env starts the N processes itself with torchrun's variables (RANK, WORLD_SIZE,
# LOCAL_RANK, LOCAL_WORLD_SIZE, MASTER_ADDR, MASTER_PORT), as torchrun would, and stops them all
# when one fails or on Ctrl-C.
# CMA (default build/cma) is the binary; MASTER_PORT (default 29500) the rendezvous port.
set -euo pipefail
if [ $# -lt 2 ]; then
  echo "usage: $0 NPROC train|eval [cma options...]" >&2
  exit 2
fi
NPROC=$1
shift
CMA=${CMA:-$(dirname "$0")/../build/cma}
export MASTER_ADDR=${MASTER_ADDR:-127.0.0.1}
export MASTER_PORT=${MASTER_PORT:-29500}
LAUNCHER=${LAUNCHER:-$(command -v mpirun > /dev/null && echo mpirun || echo env)}

if [ "$LAUNCHER" = mpirun ]; then
  flags=(-np "$NPROC" --bind-to none --oversubscribe -x MASTER_ADDR -x MASTER_PORT)
  [ "$(id -u)" -eq 0 ] && flags+=(--allow-run-as-root)
  exec mpirun "${flags[@]}" "$CMA" "$@"
fi

pids=()
stop_all() { for p in "${pids[@]}"; do kill "$p" 2> /dev/null || true; done; }
trap 'stop_all; exit 130' INT
trap 'stop_all; exit 143' TERM
for ((r = 0; r < NPROC; r++)); do
  RANK=$r WORLD_SIZE=$NPROC LOCAL_RANK=$r LOCAL_WORLD_SIZE=$NPROC "$CMA" "$@" &
  pids+=($!)
done
status=0
for ((i = 0; i < NPROC; i++)); do
  # A rank that fails makes the others fail within --dist_timeout; stop them at once instead.
  if ! wait -n; then
    status=1
    stop_all
  fi
done
exit $status
