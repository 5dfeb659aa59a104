#!/usr/bin/env bash
# Stop the single-node test cluster that setup-local-cluster.sh started:
# slurmd, slurmctld and (unless --keep-munge) munged, each by its pid file.
# Configuration, state and logs stay; setup-local-cluster.sh starts it again.
set -uo pipefail

keep_munge=0
[[ "${1:-}" == "--keep-munge" ]] && keep_munge=1

stop_pidfile() { # pidfile name
  local pidfile="$1" name="$2" pid
  [[ -f "$pidfile" ]] || { echo "[slurm-stop] $name: no pid file"; return 0; }
  pid="$(cat "$pidfile" 2>/dev/null)"
  if [[ -z "$pid" ]] || ! kill -0 "$pid" 2>/dev/null; then
    echo "[slurm-stop] $name: not running"
    rm -f "$pidfile"
    return 0
  fi
  echo "[slurm-stop] stopping $name (pid $pid)"
  kill "$pid" 2>/dev/null || true
  for _ in $(seq 1 40); do
    kill -0 "$pid" 2>/dev/null || { rm -f "$pidfile"; return 0; }
    sleep 0.25
  done
  echo "[slurm-stop] $name (pid $pid) did not exit after SIGTERM; sending SIGKILL"
  kill -9 "$pid" 2>/dev/null || true
  rm -f "$pidfile"
}

stop_pidfile /run/slurmd.pid slurmd
stop_pidfile /run/slurmctld.pid slurmctld
(( keep_munge )) || stop_pidfile /run/munge/munged.pid munged
