#!/usr/bin/env bash
# cma on several nodes. Every rank must reach rank 0's rendezvous, so MASTER_ADDR must be rank 0's
# host name or IP address (cma refuses a multi-node launch whose rendezvous is 127.0.0.1), and
# MASTER_PORT (default 29500) must be open between the nodes. Set GLOO_SOCKET_IFNAME=eth0 (say)
# where a node's host name does not resolve to the address the other nodes can reach.
#
# Open MPI, ranks spread over the hosts of a hostfile (one "host slots=N" line per node);
# MASTER_ADDR defaults to the hostfile's first host:
#   scripts/launch_multi_node.sh mpirun hosts.txt 8 train --config configs/msrvtt_vitb32.json
# which runs
#   mpirun -np 8 --hostfile hosts.txt --bind-to none -x MASTER_ADDR -x MASTER_PORT build/cma train ...
# (-x passes the variables on to the other nodes; add --allow-run-as-root as root, --oversubscribe
# for more ranks than the hostfile's slots; build/cma must exist at the same path on every node.)
#
# Slurm, inside an allocation (sbatch or salloc); MASTER_ADDR defaults to the allocation's first node:
#   #SBATCH --nodes=2 --ntasks-per-node=4
#   scripts/launch_multi_node.sh srun train --config configs/msrvtt_vitb32.json
# which runs
#   srun --kill-on-bad-exit=1 build/cma train ...
# cma reads each task's SLURM_PROCID, SLURM_NTASKS, SLURM_LOCALID and SLURM_NNODES; srun passes
# MASTER_ADDR and MASTER_PORT on with the rest of the environment.
set -euo pipefail
usage() {
  echo "usage: $0 mpirun HOSTFILE NPROC train|eval [cma options...]" >&2
  echo "       $0 srun train|eval [cma options...]    (inside a Slurm allocation)" >&2
  exit 2
}
[ $# -ge 2 ] || usage
CMA=${CMA:-$(cd "$(dirname "$0")/.." && pwd)/build/cma}
export MASTER_PORT=${MASTER_PORT:-29500}

case "$1" in
  mpirun)
    [ $# -ge 4 ] || usage
    HOSTFILE=$2 NPROC=$3
    shift 3
    if [ -z "${MASTER_ADDR:-}" ]; then
      MASTER_ADDR=$(awk 'NF && $1 !~ /^#/ { print $1; exit }' "$HOSTFILE")
    fi
    export MASTER_ADDR
    flags=(-np "$NPROC" --hostfile "$HOSTFILE" --bind-to none -x MASTER_ADDR -x MASTER_PORT)
    [ -n "${GLOO_SOCKET_IFNAME:-}" ] && flags+=(-x GLOO_SOCKET_IFNAME)
    [ "$(id -u)" -eq 0 ] && flags+=(--allow-run-as-root)
    exec mpirun "${flags[@]}" "$CMA" "$@"
    ;;
  srun)
    shift
    if [ -z "${SLURM_JOB_NODELIST:-}" ]; then
      echo "$0: not inside a Slurm allocation (SLURM_JOB_NODELIST is unset): use sbatch or salloc" >&2
      exit 2
    fi
    if [ -z "${MASTER_ADDR:-}" ]; then
      MASTER_ADDR=$(scontrol show hostnames "$SLURM_JOB_NODELIST" | head -n 1)
    fi
    export MASTER_ADDR
    exec srun --kill-on-bad-exit=1 "$CMA" "$@"
    ;;
  *) usage ;;
esac
