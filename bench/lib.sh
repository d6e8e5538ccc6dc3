# shellcheck shell=bash
# Shared helpers for the bench/ scripts (sourced, not run).
# Every helper that starts something registers its stop in bench_cleanup, which
# the sourcing script runs from its EXIT trap. Only loopback addresses are used.
set -uo pipefail
# --help (or -h): the calling script's header comment (what it measures, its BENCH_* settings)
if [[ ${1:-} == -h || ${1:-} == --help ]]; then
  sed -n '2,/^[^#]/{/^#/s/^# \{0,1\}//p}' "$0"
  exit 0
fi
BENCH_DIR=$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")
REPO=$(dirname "$BENCH_DIR")
export PATH="$PATH:/usr/local/sbin:/usr/sbin:/sbin"
export LC_ALL=C

BENCH_TMP=$(mktemp -d "${TMPDIR:-/tmp}/gestalt-bench.XXXXXX")
chmod 755 "$BENCH_TMP"   # sshd/munged check the modes of the directories above their files
BENCH_CLEANUPS=()
bench_on_exit() { BENCH_CLEANUPS+=("$1"); }
bench_cleanup() {
  local i
  for ((i = ${#BENCH_CLEANUPS[@]} - 1; i >= 0; i--)); do eval "${BENCH_CLEANUPS[i]}" >/dev/null 2>&1 || true; done
  BENCH_CLEANUPS=()
  [[ -n ${BENCH_KEEP_TMP:-} ]] || rm -rf "$BENCH_TMP"
}
trap bench_cleanup EXIT
trap 'exit 130' INT TERM

log() { printf '[%s] %s\n' "$(date +%T)" "$*" >&2; }
die() { log "FATAL: $*"; exit 1; }

# A free TCP port on 127.0.0.1.
free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

# Stop a process we started, by its pid (TERM, then KILL after 5 s).
stop_pid() {
  local pid=$1 i
  [[ -n $pid ]] || return 0
  kill -TERM "$pid" 2>/dev/null || return 0
  for ((i = 0; i < 50; i++)); do kill -0 "$pid" 2>/dev/null || return 0; sleep 0.1; done
  kill -KILL "$pid" 2>/dev/null || true
}
stop_pidfile() { [[ -r $1 ]] && stop_pid "$(<"$1")"; }

# ---------------------------------------------------------------- gestalt
# gestalt_up: a private 3-node local cluster; GESTALT_HOME/GESTALT_NODE exported,
# the CLI talks to node1.
GESTALT=$REPO/gestalt
gestalt_up() {
  export GESTALT_HOME=$BENCH_TMP/gestalt-home
  mkdir -p "$GESTALT_HOME"
  "$GESTALT" --version >/dev/null || die "gestalt does not build/start"
  bench_on_exit "GESTALT_HOME=$GESTALT_HOME '$GESTALT' cluster down --force"
  log "gestalt: cluster up (3 nodes, GESTALT_HOME=$GESTALT_HOME)"
  timeout 120 "$GESTALT" cluster up --nodes 3 >"$BENCH_TMP/cluster-up.log" 2>&1 \
    || { cat "$BENCH_TMP/cluster-up.log" >&2; die "gestalt cluster up failed"; }
  export GESTALT_NODE=$GESTALT_HOME/clusters/local/node1/node.sock
  [[ -S $GESTALT_NODE ]] || die "no socket $GESTALT_NODE"
  # first remote run warms the node-to-node channel
  timeout 30 "$GESTALT" run -n node2 -- true || die "gestalt run -n node2 -- true failed"
}

# ---------------------------------------------------------------- sshd
# ssh_up: a private sshd on 127.0.0.1:$SSH_PORT with its own host key, and a
# client key for root. Sets SSH (array: ssh with all options, without host).
ssh_up() {
  local d=$BENCH_TMP/ssh
  mkdir -p "$d" && chmod 700 "$d"
  ssh-keygen -q -t ed25519 -N '' -f "$d/host_key" || die "ssh-keygen host"
  ssh-keygen -q -t ed25519 -N '' -f "$d/user_key" || die "ssh-keygen user"
  cp "$d/user_key.pub" "$d/authorized_keys"; chmod 600 "$d/authorized_keys"
  SSH_PORT=$(free_port)
  mkdir -p /run/sshd   # privilege separation directory
  cat >"$d/sshd_config" <<CONF
ListenAddress 127.0.0.1
Port $SSH_PORT
HostKey $d/host_key
PidFile $d/sshd.pid
AuthorizedKeysFile $d/authorized_keys
PermitRootLogin prohibit-password
PasswordAuthentication no
KbdInteractiveAuthentication no
UsePAM no
StrictModes no
UseDNS no
PrintMotd no
LogLevel ERROR
Subsystem sftp internal-sftp
MaxStartups 200:30:400
MaxSessions 100
CONF
  /usr/sbin/sshd -f "$d/sshd_config" -E "$d/sshd.log" || die "sshd did not start (see $d/sshd.log)"
  bench_on_exit "stop_pidfile '$d/sshd.pid'"
  printf '[127.0.0.1]:%s %s\n' "$SSH_PORT" "$(cut -d' ' -f1,2 "$d/host_key.pub")" >"$d/known_hosts"
  SSH_OPTS=(-F /dev/null -p "$SSH_PORT" -i "$d/user_key" -o IdentitiesOnly=yes -o BatchMode=yes
            -o UserKnownHostsFile="$d/known_hosts" -o StrictHostKeyChecking=yes -o LogLevel=ERROR)
  SSH_CTL=$d/ctl-%C
  local i
  for ((i = 0; i < 50; i++)); do
    ssh "${SSH_OPTS[@]}" root@127.0.0.1 true 2>/dev/null && break
    sleep 0.1
  done
  ssh "${SSH_OPTS[@]}" root@127.0.0.1 true || die "ssh to the private sshd fails"
  log "sshd: 127.0.0.1:$SSH_PORT"
}
# a ControlMaster for the ssh -o ControlPath=$SSH_CTL runs; stopped at exit
ssh_master_up() {
  ssh "${SSH_OPTS[@]}" -o ControlMaster=yes -o ControlPath="$SSH_CTL" -o ControlPersist=600 -fN root@127.0.0.1 \
    || die "ssh ControlMaster"
  bench_on_exit "ssh ${SSH_OPTS[*]} -o ControlPath='$SSH_CTL' -O exit root@127.0.0.1"
}

# ---------------------------------------------------------------- slurm
# slurm_up: munged + slurmctld + slurmd for one node (this host) on loopback
# (BENCH_SLURM_OVERSUBSCRIBE jobs per CPU at once, default 4),
# all state in a temp dir; exports SLURM_CONF.
slurm_up() {
  local d=$BENCH_TMP/slurm host
  host=$(hostname -s)
  mkdir -p "$d/state" "$d/spool" "$d/munge" && chmod 700 "$d/munge"
  dd if=/dev/urandom of="$d/munge/munge.key" bs=1024 count=1 status=none && chmod 400 "$d/munge/munge.key"
  munged --force --key-file="$d/munge/munge.key" --socket="$d/munge/munge.sock" \
    --pid-file="$d/munge/munged.pid" --log-file="$d/munge/munged.log" --seed-file="$d/munge/munged.seed" \
    || die "munged did not start (see $d/munge/munged.log)"
  bench_on_exit "stop_pidfile '$d/munge/munged.pid'"
  local ctlport dport ncpu
  ctlport=$(free_port); dport=$(free_port); ncpu=$(nproc)
  cat >"$d/slurm.conf" <<CONF
ClusterName=gbench
SlurmctldHost=$host(127.0.0.1)
SlurmUser=root
SlurmdUser=root
SlurmctldPort=$ctlport
SlurmdPort=$dport
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket=$d/munge/munge.sock
StateSaveLocation=$d/state
SlurmdSpoolDir=$d/spool
SlurmctldPidFile=$d/slurmctld.pid
SlurmdPidFile=$d/slurmd.pid
SlurmctldLogFile=$d/slurmctld.log
SlurmdLogFile=$d/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/none
SchedulerType=sched/builtin
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
MpiDefault=none
ReturnToService=2
SlurmctldTimeout=30
SlurmdTimeout=30
NodeName=$host NodeAddr=127.0.0.1 CPUs=$ncpu State=UNKNOWN
PartitionName=bench Nodes=$host Default=YES MaxTime=INFINITE State=UP OverSubscribe=FORCE:${BENCH_SLURM_OVERSUBSCRIBE:-4}
CONF
  export SLURM_CONF=$d/slurm.conf
  slurmctld -f "$SLURM_CONF" -i || die "slurmctld did not start (see $d/slurmctld.log)"
  bench_on_exit "stop_pidfile '$d/slurmctld.pid'"
  slurmd -f "$SLURM_CONF" || die "slurmd did not start (see $d/slurmd.log)"
  bench_on_exit "stop_pidfile '$d/slurmd.pid'"
  local i
  for ((i = 0; i < 100; i++)); do
    timeout 10 srun -N1 true 2>/dev/null && { log "slurm: up (slurmctld :$ctlport, slurmd :$dport)"; return 0; }
    sleep 0.3
  done
  tail -n 20 "$d/slurmctld.log" "$d/slurmd.log" >&2
  die "srun -N1 true never succeeded"
}

# ---------------------------------------------------------------- stats
# hyperfine JSON -> "name<TAB>median_ms<TAB>min_ms<TAB>max_ms<TAB>p10_ms<TAB>p90_ms<TAB>mean_ms<TAB>runs" lines
# (several files: the times of the same command are pooled, in first-seen order)
hf_summary() {
  python3 - "$@" <<'PY'
import json, sys, statistics as st
pooled = {}
for f in sys.argv[1:]:
    for r in json.load(open(f))["results"]:
        pooled.setdefault(r["command"], []).extend(r["times"])
for cmd, times in pooled.items():
    t = sorted(x * 1000 for x in times)
    q = lambda p: t[min(len(t) - 1, max(0, round(p * (len(t) - 1))))]
    print("\t".join([cmd, *("%.2f" % v for v in (st.median(t), t[0], t[-1], q(.1), q(.9), st.mean(t))), str(len(t))]))
PY
}
# numbers on stdin (one a line) -> "median min max"
med_min_max() {
  python3 -c 'import sys,statistics as s; v=sorted(float(x) for x in sys.stdin if x.strip()); print("%.1f %.1f %.1f" % (s.median(v), v[0], v[-1]))'
}
