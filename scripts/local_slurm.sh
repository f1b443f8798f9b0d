#!/usr/bin/env bash
# A real one-node SLURM cluster on this machine, for trying the batch path (and for its tests):
#   scripts/local_slurm.sh up [--gpus N]   install slurm-wlm and munge if missing (Debian packages),
#                                          write a one-node config, start munged, slurmctld and
#                                          slurmd, wait until the node is idle
#   scripts/local_slurm.sh down            cancel its jobs, stop the daemons, remove the stand-in
#                                          GPU device nodes; nothing is left running
#   scripts/local_slurm.sh status
# GPUs are a generic resource backed by stand-in device nodes (File= entries: a bare Count= registers
# as 0 and drains the node), so `sbatch --gpus-per-node=1` is accepted on a CPU node and the same
# sbatch line serves a GPU cluster. Runs as root (it starts system daemons and writes /etc/slurm).
set -euo pipefail

CONF_DIR=/etc/slurm
CONF="$CONF_DIR/slurm.conf"
MARK="# written by local_slurm.sh"
STATE=/var/lib/local_slurm      # slurmctld's state, slurmd's spool, the stand-in device nodes
LOGS=/var/log/local_slurm
NODE="$(hostname -s)"

say() { echo "local_slurm: $*"; }
die() { echo "local_slurm: error: $*" >&2; exit 1; }

install_packages() {
  command -v slurmctld >/dev/null && command -v munged >/dev/null && return
  [[ $(id -u) == 0 ]] || die "slurm-wlm and munge are not installed; run as root to install them (apt-get)"
  command -v apt-get >/dev/null || die "slurm-wlm and munge are not installed and this is not a Debian-like system; install SLURM and munge, then rerun"
  say "installing slurm-wlm and munge (Debian packages)"
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends slurm-wlm munge >"$LOGS/apt.log" 2>&1 \
    || { apt-get update -q >>"$LOGS/apt.log" 2>&1 && DEBIAN_FRONTEND=noninteractive apt-get install -y -q \
           --no-install-recommends slurm-wlm munge >>"$LOGS/apt.log" 2>&1; } \
    || die "apt-get could not install slurm-wlm and munge (log: $LOGS/apt.log)"
}

write_config() {
  local gpus=$1 cpus mem_mb gres_line=""
  if [[ -f $CONF ]] && ! grep -q "^$MARK" "$CONF"; then
    die "$CONF exists and was not written by this script: this machine has a SLURM configuration already; use that cluster (or move the file away)"
  fi
  cpus=$(nproc)
  mem_mb=$(( $(awk '/MemTotal/ {print $2}' /proc/meminfo) / 1024 * 9 / 10 ))
  mkdir -p "$CONF_DIR" "$STATE/ctld" "$STATE/d" "$STATE/dev" "$LOGS"
  rm -f "$STATE"/dev/gpu*
  : >"$CONF_DIR/gres.conf"
  if (( gpus > 0 )); then
    for ((i = 0; i < gpus; i++)); do mknod "$STATE/dev/gpu$i" c 1 3; done  # /dev/null's numbers: opening one does nothing
    echo "$MARK" >"$CONF_DIR/gres.conf"
    echo "NodeName=$NODE Name=gpu File=$STATE/dev/gpu[0-$((gpus - 1))]" >>"$CONF_DIR/gres.conf"
    gres_line="Gres=gpu:$gpus"
  fi
  cat >"$CONF" <<EOF
$MARK ($(date -u +%FT%TZ)): a one-node cluster for trying the batch path
ClusterName=local
SlurmctldHost=$NODE
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
# a requeued job waits cred_expire seconds before it starts again: 120 by default, 30 here
AuthInfo=cred_expire=30
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
GresTypes=gpu
ReturnToService=2
JobRequeue=1
KillWait=30
MpiDefault=none
SchedulerType=sched/backfill
AccountingStorageType=accounting_storage/none
JobAcctGatherType=jobacct_gather/none
JobCompType=jobcomp/none
StateSaveLocation=$STATE/ctld
SlurmdSpoolDir=$STATE/d
SlurmctldPidFile=$STATE/slurmctld.pid
SlurmdPidFile=$STATE/slurmd.pid
SlurmctldLogFile=$LOGS/slurmctld.log
SlurmdLogFile=$LOGS/slurmd.log
NodeName=$NODE NodeAddr=127.0.0.1 CPUs=$cpus RealMemory=$mem_mb $gres_line State=UNKNOWN
PartitionName=local Nodes=$NODE Default=YES MaxTime=INFINITE State=UP OverSubscribe=NO
EOF
  say "config: $CONF ($cpus CPUs, ${mem_mb} MB, $gpus stand-in GPU(s))"
}

pid_alive() { [[ -f $1 ]] && kill -0 "$(cat "$1")" 2>/dev/null; }

start_daemons() {
  mkdir -p /run/munge && chown munge:munge /run/munge 2>/dev/null || true
  if [[ ! -S /run/munge/munge.socket.2 ]] || ! pgrep -x munged >/dev/null; then
    pkill -x munged 2>/dev/null && sleep 1
    [[ -f /etc/munge/munge.key ]] || { mungekey --create >/dev/null 2>&1 || create-munge-key -f >/dev/null 2>&1; }
    runuser -u munge -- munged 2>"$LOGS/munged.err" || munged --force 2>>"$LOGS/munged.err" \
      || die "munged did not start ($LOGS/munged.err)"
  fi
  pid_alive "$STATE/slurmctld.pid" || slurmctld -i || die "slurmctld did not start ($LOGS/slurmctld.log)"
  pid_alive "$STATE/slurmd.pid" || slurmd || die "slurmd did not start ($LOGS/slurmd.log)"
}

wait_idle() {
  local state=""
  for _ in $(seq 60); do
    state=$(sinfo -h -n "$NODE" -o %T 2>/dev/null || true)
    case $state in
      idle|mixed|allocated) say "node $NODE is $state; try: sbatch scripts/slurm_train.sbatch"; return 0 ;;
      drain*|down*) scontrol update NodeName="$NODE" State=RESUME >/dev/null 2>&1 || true ;;
    esac
    sleep 1
  done
  die "node $NODE is '${state:-not registered}' after 60 s (logs: $LOGS/slurmctld.log, $LOGS/slurmd.log; reason: $(sinfo -h -R -o %E 2>/dev/null))"
}

stop_pidfile() {
  local file=$1 pid
  [[ -f $file ]] || return 0
  pid=$(cat "$file")
  kill "$pid" 2>/dev/null || true
  for _ in $(seq 20); do kill -0 "$pid" 2>/dev/null || break; sleep 0.5; done
  kill -9 "$pid" 2>/dev/null || true
  rm -f "$file"
}

down() {
  if [[ -f $CONF ]] && ! grep -q "^$MARK" "$CONF"; then
    die "$CONF was not written by this script: not stopping that cluster"
  fi
  if pid_alive "$STATE/slurmctld.pid"; then
    scancel --full --quiet --user=root 2>/dev/null || true
    scancel --quiet --state=PENDING 2>/dev/null || true
    sleep 1
  fi
  stop_pidfile "$STATE/slurmd.pid"
  stop_pidfile "$STATE/slurmctld.pid"
  pkill -x slurmstepd 2>/dev/null || true
  pkill -x munged 2>/dev/null || true
  for _ in $(seq 20); do pgrep -x munged >/dev/null || break; sleep 0.5; done
  rm -rf "$STATE/dev" "$STATE/ctld" "$STATE/d"
  say "stopped (config kept: $CONF)"
}

case "${1:-}" in
  up)
    gpus=1
    shift
    while [[ $# -gt 0 ]]; do
      case $1 in
        --gpus) [[ ${2:-} =~ ^[0-9]+$ ]] || die "--gpus needs a number (0 for none)"; gpus=$2; shift 2 ;;
        *) die "unknown option $1 (up takes --gpus N)" ;;
      esac
    done
    [[ $(id -u) == 0 ]] || die "run as root: it starts munged, slurmctld and slurmd and writes $CONF"
    mkdir -p "$LOGS"
    install_packages
    if pid_alive "$STATE/slurmctld.pid"; then down >/dev/null; fi  # a changed GPU count needs new daemons
    write_config "$gpus"
    start_daemons
    wait_idle
    ;;
  down) down ;;
  status)
    if pid_alive "$STATE/slurmctld.pid"; then sinfo; squeue; else say "not running"; fi ;;
  *) echo "usage: scripts/local_slurm.sh up [--gpus N] | down | status" >&2; exit 2 ;;
esac
