# tests/slurm_cluster.sh — a throwaway single-node Slurm cluster for the
# tests, sourced (not run): slurm_cluster_start DIR starts munged (its own
# key and socket), slurmctld and slurmd with everything under DIR (config,
# state, spool, logs, pid files) on free ports, and exports SLURM_CONF so
# that sbatch, squeue, scontrol and scancel talk to it; slurm_cluster_stop
# stops the three by the PIDs they wrote, nothing else. Debian 12's
# slurm-wlm 22.05 and munge; no systemd needed, root needed (slurmd runs
# jobs as their users).
#
# On failure slurm_cluster_start prints which daemon did not come up and
# the end of its log, and returns 1: a caller must fail (or skip with that
# reason), never pass.

# A requeued job may start again only after its old credential expires
# (slurm.conf(5), AuthInfo cred_expire: Slurm holds it that long, 120 s by
# default); one started sooner is killed, "Job credential revoked", and
# ends FAILED. Short here, so that a test waits it out instead of forcing
# the start (slurm_cluster_wait_requeue).
SLURM_CLUSTER_CRED_EXPIRE=10

# slurm_cluster_wait_requeue JOBID: once the requeued job is pending,
# waits out the credential's lifetime; if Slurm has not started it again
# by then, asks for the start now. 1 when it never pends, or pends on.
slurm_cluster_wait_requeue() {
  local i
  for i in $(seq 1 150); do
    [ "$(squeue -h -j "$1" -o %T)" = PENDING ] && break
    sleep 0.2
  done
  [ "$(squeue -h -j "$1" -o %T)" = PENDING ] || return 1
  sleep $((SLURM_CLUSTER_CRED_EXPIRE + 1))
  [ "$(squeue -h -j "$1" -o %T)" = PENDING ] || return 0
  scontrol update JobId="$1" StartTime=now 2>/dev/null ||
    [ "$(squeue -h -j "$1" -o %T)" != PENDING ]
}

slurm_cluster_free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

# The reason a daemon did not start: its log's last lines.
slurm_cluster_why() {
  echo "slurm_cluster: $1 did not start; the end of $2:" >&2
  tail -n 15 "$2" >&2 2>/dev/null || echo "  (no log)" >&2
}

slurm_cluster_start() {
  local d=$1 node ctld_port slurmd_port i
  mkdir -p "$d/munge" "$d/state" "$d/spool" "$d/log"
  chmod 0700 "$d/munge"
  node=$(hostname -s)
  ctld_port=$(slurm_cluster_free_port)
  slurmd_port=$(slurm_cluster_free_port)
  # munged insists on its key being 0400 and owned by its user (root here).
  dd if=/dev/urandom of="$d/munge/munge.key" bs=1024 count=1 status=none
  chmod 0400 "$d/munge/munge.key"
  if ! munged --key-file="$d/munge/munge.key" --socket="$d/munge/munge.sock" \
       --pid-file="$d/munge/munged.pid" --log-file="$d/log/munged.log" \
       --seed-file="$d/munge/munged.seed" --force 2>>"$d/log/munged.log"; then
    slurm_cluster_why munged "$d/log/munged.log"
    return 1
  fi
  # The socket's folder must be reachable by job users (munge clients).
  chmod 0755 "$d/munge"
  local mem
  mem=$(awk '/MemTotal/ {print int($2/1024/2)}' /proc/meminfo)
  cat >"$d/slurm.conf" <<EOF
ClusterName=fltest
SlurmctldHost=$node(127.0.0.1)
SlurmctldPort=$ctld_port
SlurmdPort=$slurmd_port
AuthType=auth/munge
AuthInfo=socket=$d/munge/munge.sock,cred_expire=$SLURM_CLUSTER_CRED_EXPIRE
CredType=cred/munge
SlurmUser=root
SlurmdUser=root
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
MpiDefault=none
StateSaveLocation=$d/state
SlurmdSpoolDir=$d/spool
SlurmctldPidFile=$d/slurmctld.pid
SlurmdPidFile=$d/slurmd.pid
SlurmctldLogFile=$d/log/slurmctld.log
SlurmdLogFile=$d/log/slurmd.log
ReturnToService=2
JobRequeue=1
MinJobAge=3600
KillWait=10
SchedulerParameters=sched_interval=2
NodeName=$node NodeAddr=127.0.0.1 CPUs=$(nproc) RealMemory=$mem State=UNKNOWN
PartitionName=debug Nodes=ALL Default=YES MaxTime=INFINITE State=UP
EOF
  chmod 0644 "$d/slurm.conf"
  export SLURM_CONF=$d/slurm.conf
  if ! slurmctld -f "$d/slurm.conf" -i 2>>"$d/log/slurmctld.log"; then
    slurm_cluster_why slurmctld "$d/log/slurmctld.log"
    return 1
  fi
  if ! slurmd -f "$d/slurm.conf" 2>>"$d/log/slurmd.log"; then
    slurm_cluster_why slurmd "$d/log/slurmd.log"
    return 1
  fi
  # Up when the node is idle (ReturnToService=2 makes it so on registering).
  for i in $(seq 1 60); do
    if sinfo -h -N -o '%T' 2>/dev/null | grep -qx 'idle'; then
      return 0
    fi
    sleep 0.5
  done
  echo "slurm_cluster: the node did not become idle in 30 s: sinfo says:" >&2
  sinfo -N -l >&2 || true
  slurm_cluster_why slurmd "$d/log/slurmd.log"
  slurm_cluster_why slurmctld "$d/log/slurmctld.log"
  return 1
}

# Stop by PID: slurmd, slurmctld, munged (each waited for up to 10 s).
slurm_cluster_stop() {
  local d=$1 f pid i
  for f in "$d/slurmd.pid" "$d/slurmctld.pid" "$d/munge/munged.pid"; do
    [ -s "$f" ] || continue
    pid=$(cat "$f")
    kill -TERM "$pid" 2>/dev/null || continue
    for i in $(seq 1 100); do
      kill -0 "$pid" 2>/dev/null || break
      sleep 0.1
    done
    kill -KILL "$pid" 2>/dev/null || true
  done
}
