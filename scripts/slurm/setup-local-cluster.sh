#!/usr/bin/env bash
# Make a real single-node Slurm cluster on this machine, for the test suite.
#
#   bash scripts/slurm/setup-local-cluster.sh
#
# Idempotent: installs slurm-wlm and munge with apt-get only when missing,
# creates a munge key only when absent, rewrites /etc/slurm/slurm.conf only
# when its content changes, starts munged, slurmctld and slurmd directly (no
# systemd: CI runs as root in a container), waits until the node is idle and
# resumes it when it is down or drained. When the cluster is already up with
# the same configuration it does nothing and returns in well under a second.
#
# Environment:
#   SLURM_SETUP_WAIT   seconds to wait for the node to become idle (default 60)
#   SLURM_SETUP_QUIET  1 to print only failures
set -uo pipefail

WAIT_SECONDS="${SLURM_SETUP_WAIT:-60}"
CONF_DIR=/etc/slurm
CONF="$CONF_DIR/slurm.conf"
CGROUP_CONF="$CONF_DIR/cgroup.conf"
LOG_DIR=/var/log/slurm
STATE_DIR=/var/spool/slurmctld
SPOOL_DIR=/var/spool/slurmd
CTLD_PID=/run/slurmctld.pid
SLURMD_PID=/run/slurmd.pid
MUNGE_KEY=/etc/munge/munge.key

log() { [[ "${SLURM_SETUP_QUIET:-0}" == 1 ]] || echo "[slurm-setup] $*"; }
# fail MESSAGE [LOG...]: print what failed and the end of the logs that tell
# why (by default those of all three daemons), then exit 1.
fail() {
  local msg="$1"; shift
  echo "[slurm-setup] FAILED: $msg" >&2
  (( $# > 0 )) || set -- "$LOG_DIR/slurmctld.log" "$LOG_DIR/slurmd.log" /var/log/munge/munged.log
  for f in "$@"; do
    if [[ -s "$f" ]]; then
      echo "[slurm-setup] --- last lines of $f ---" >&2
      tail -n 15 "$f" >&2
    fi
  done
  exit 1
}

[[ "$(id -u)" == 0 ]] || fail "must run as root (it installs packages and starts daemons)"

# ---------------------------------------------------------------- packages
missing=()
for pair in slurmctld:slurmctld slurmd:slurmd sbatch:slurm-client munged:munge; do
  bin="${pair%%:*}"
  command -v "$bin" >/dev/null 2>&1 || [[ -x "/usr/sbin/$bin" ]] || missing+=("$bin")
done
if (( ${#missing[@]} > 0 )); then
  log "installing slurm-wlm and munge (missing: ${missing[*]})"
  export DEBIAN_FRONTEND=noninteractive
  # Refresh the package lists when they are absent or older than a day, and
  # once more if the install fails on lists that were not refreshed (404s).
  updated=0
  if [[ -z "$(find /var/lib/apt/lists -maxdepth 1 -name '*_Packages*' -mmin -1440 2>/dev/null | head -n 1)" ]]; then
    apt-get update -qq || fail "apt-get update failed"
    updated=1
  fi
  apt_install() { apt-get install -y -qq --no-install-recommends slurm-wlm munge >/tmp/slurm-setup-apt.log 2>&1; }
  if ! apt_install; then
    if (( updated == 0 )) && apt-get update -qq && apt_install; then
      :
    else
      fail "apt-get install slurm-wlm munge failed (log: /tmp/slurm-setup-apt.log)" /tmp/slurm-setup-apt.log
    fi
  fi
fi
export PATH="$PATH:/usr/sbin:/sbin"

# ---------------------------------------------------------------- munge
munge_ok() { munge -n 2>/dev/null | unmunge >/dev/null 2>&1; }
if ! munge_ok; then
  if [[ ! -s "$MUNGE_KEY" ]]; then
    log "creating munge key $MUNGE_KEY"
    mkdir -p /etc/munge
    if command -v mungekey >/dev/null 2>&1; then
      mungekey --create --keyfile="$MUNGE_KEY" --force >/dev/null 2>&1 \
        || dd if=/dev/urandom of="$MUNGE_KEY" bs=1024 count=1 status=none
    else
      dd if=/dev/urandom of="$MUNGE_KEY" bs=1024 count=1 status=none
    fi
  fi
  mkdir -p /run/munge /var/log/munge /var/lib/munge
  if id munge >/dev/null 2>&1; then
    chown munge:munge "$MUNGE_KEY" /run/munge /var/log/munge /var/lib/munge /etc/munge
    chmod 0700 /etc/munge /var/log/munge /var/lib/munge
    chmod 0755 /run/munge
    chmod 0400 "$MUNGE_KEY"
    # A stale pid file or socket left by a killed munged makes a new one refuse to start.
    if [[ -f /run/munge/munged.pid ]] && ! kill -0 "$(cat /run/munge/munged.pid)" 2>/dev/null; then
      rm -f /run/munge/munged.pid /run/munge/munge.socket.2 /run/munge/munge.socket.2.lock
    fi
    log "starting munged"
    runuser -u munge -- /usr/sbin/munged >/dev/null 2>&1 || true
  else
    chmod 0400 "$MUNGE_KEY"
    log "starting munged (as root)"
    /usr/sbin/munged --force >/dev/null 2>&1 || true
  fi
  for _ in $(seq 1 20); do munge_ok && break; sleep 0.25; done
  munge_ok || fail "munged is not working (munge -n | unmunge fails)" /var/log/munge/munged.log
fi

# ---------------------------------------------------------------- config
NODE="$(hostname -s)"
[[ -n "$NODE" ]] || fail "hostname -s returned nothing"
# slurmd -C prints this machine's topology, e.g.
#   NodeName=vm CPUs=2 Boards=1 SocketsPerBoard=1 CoresPerSocket=2 ThreadsPerCore=1 RealMemory=24105
HW="$(slurmd -C 2>/dev/null | grep -m1 '^NodeName=')" || true
[[ -n "$HW" ]] || fail "slurmd -C printed no NodeName line"
cpus="$(grep -o 'CPUs=[0-9]*' <<<"$HW" | cut -d= -f2)"
boards="$(grep -o 'Boards=[0-9]*' <<<"$HW" | cut -d= -f2)"
sockets="$(grep -o 'SocketsPerBoard=[0-9]*' <<<"$HW" | cut -d= -f2)"
cores="$(grep -o 'CoresPerSocket=[0-9]*' <<<"$HW" | cut -d= -f2)"
threads="$(grep -o 'ThreadsPerCore=[0-9]*' <<<"$HW" | cut -d= -f2)"
memory="$(grep -o 'RealMemory=[0-9]*' <<<"$HW" | cut -d= -f2)"
[[ -n "$cpus" && -n "$memory" ]] || fail "could not read CPUs/RealMemory from: $HW"
topology="CPUs=$cpus"
if [[ -n "$boards" && -n "$sockets" && -n "$cores" && -n "$threads" ]]; then
  topology="$topology Boards=$boards SocketsPerBoard=$sockets CoresPerSocket=$cores ThreadsPerCore=$threads"
fi
# Leave a little memory to the OS so a slightly smaller reading after a reboot
# does not make slurmctld drain the node for "Low RealMemory".
memory=$(( memory * 95 / 100 ))
# Default memory per allocated CPU when a job gives no --mem; without it a job
# takes the whole node's memory and the next job waits.
def_mem=$(( memory / (cpus * 2) ))
(( def_mem > 4096 )) && def_mem=4096

new_conf="$(cat <<CONF
# Written by scripts/slurm/setup-local-cluster.sh: a single-node test cluster.
ClusterName=corral-test
SlurmctldHost=${NODE}(127.0.0.1)
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CryptoType=crypto/munge
MpiDefault=none
StateSaveLocation=${STATE_DIR}
SlurmdSpoolDir=${SPOOL_DIR}
SlurmctldPidFile=${CTLD_PID}
SlurmdPidFile=${SLURMD_PID}
SlurmctldLogFile=${LOG_DIR}/slurmctld.log
SlurmdLogFile=${LOG_DIR}/slurmd.log
SlurmctldDebug=info
SlurmdDebug=info
# No cgroups: the test machine is a container.
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
SwitchType=switch/none
SchedulerType=sched/backfill
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
DefMemPerCPU=${def_mem}
# No accounting daemon: finished jobs are looked up with scontrol show job.
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/none
# Keep finished jobs (and their final state) in slurmctld for 10 minutes.
MinJobAge=600
# End jobs at their time limit, send SIGKILL 5 s after SIGTERM.
OverTimeLimit=0
KillWait=5
InactiveLimit=0
MessageTimeout=10
SlurmctldTimeout=30
SlurmdTimeout=60
# A node that went down (e.g. slurmd restarted) comes back by itself.
ReturnToService=2
NodeName=${NODE} NodeAddr=127.0.0.1 ${topology} RealMemory=${memory} State=UNKNOWN
PartitionName=debug Nodes=${NODE} Default=YES MaxTime=INFINITE State=UP
CONF
)"

changed=0
mkdir -p "$CONF_DIR" "$LOG_DIR" "$STATE_DIR" "$SPOOL_DIR"
if [[ ! -f "$CONF" ]] || [[ "$(cat "$CONF")" != "$new_conf" ]]; then
  log "writing $CONF"
  printf '%s\n' "$new_conf" >"$CONF"
  changed=1
fi
# No cgroup.conf: with proctrack/linuxproc and task/none slurmd only
# autodetects the cgroup version. (Slurm 22.05 has no CgroupPlugin=disabled;
# writing it makes slurmd refuse to start.) Drop one an older run wrote.
if [[ -f "$CGROUP_CONF" ]] && grep -q 'setup-local-cluster.sh' "$CGROUP_CONF"; then
  log "removing $CGROUP_CONF"
  rm -f "$CGROUP_CONF"
  changed=1
fi

# ---------------------------------------------------------------- daemons
pid_alive() { [[ -f "$1" ]] && kill -0 "$(cat "$1" 2>/dev/null)" 2>/dev/null; }
stop_daemon() { # pidfile name
  local pidfile="$1" name="$2" pid
  pid_alive "$pidfile" || return 0
  pid="$(cat "$pidfile")"
  log "stopping $name (pid $pid)"
  kill "$pid" 2>/dev/null || true
  for _ in $(seq 1 40); do kill -0 "$pid" 2>/dev/null || return 0; sleep 0.25; done
  kill -9 "$pid" 2>/dev/null || true
}

if (( changed )); then
  stop_daemon "$SLURMD_PID" slurmd
  stop_daemon "$CTLD_PID" slurmctld
fi

if ! pid_alive "$CTLD_PID"; then
  log "starting slurmctld"
  slurmctld >"$LOG_DIR/slurmctld.start.log" 2>&1 \
    || fail "slurmctld did not start" "$LOG_DIR/slurmctld.start.log" "$LOG_DIR/slurmctld.log"
fi
ctld_ok=0
for _ in $(seq 1 40); do
  if scontrol ping 2>/dev/null | grep -q 'is UP'; then ctld_ok=1; break; fi
  sleep 0.25
done
(( ctld_ok )) || fail "slurmctld does not answer 'scontrol ping'" "$LOG_DIR/slurmctld.start.log" "$LOG_DIR/slurmctld.log"

if ! pid_alive "$SLURMD_PID"; then
  log "starting slurmd"
  slurmd >"$LOG_DIR/slurmd.start.log" 2>&1 \
    || fail "slurmd did not start" "$LOG_DIR/slurmd.start.log" "$LOG_DIR/slurmd.log"
fi

# ---------------------------------------------------------------- node state
node_state() { sinfo -h -n "$NODE" -o '%T' 2>/dev/null | head -n 1; }
deadline=$(( SECONDS + WAIT_SECONDS ))
resumed=0
state=""
while :; do
  state="$(node_state)"
  case "$state" in
    idle|mixed|allocated|completing) break ;;
    *down*|*drain*|*fail*|*invalid*)
      # "down*" (not responding) clears by itself once slurmd registers.
      if [[ "$state" != *'*' ]] && (( resumed < 3 )); then
        log "node $NODE is $state; resuming it"
        scontrol update NodeName="$NODE" State=RESUME >/dev/null 2>&1 || true
        resumed=$(( resumed + 1 ))
      fi
      ;;
  esac
  if (( SECONDS >= deadline )); then
    reason="$(sinfo -h -R -n "$NODE" -o '%E' 2>/dev/null | head -n 1)"
    fail "node $NODE is '${state:-unknown}' after ${WAIT_SECONDS}s, not idle${reason:+ (reason: $reason)}"
  fi
  sleep 0.5
done
log "cluster corral-test is up: node $NODE is $state (partition debug)"
