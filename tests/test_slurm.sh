#!/usr/bin/env bash
# tests/test_slurm.sh BUILD_DIR — flatline jobs on a real single-node Slurm
# (issue 15 item 2), started here (tests/slurm_cluster.sh: munged,
# slurmctld, slurmd in a temp dir, stopped by PID at the end):
#   - a job submitted with --slurm runs to the same final loss as
#     `flatlined --run` of the same spec; follow, show, list --slurm and
#     export (-o and --csv) work on it with the daemon jobs' exit statuses;
#   - `scontrol requeue` mid-training: the job stops with its state saved,
#     runs again, resumes from its checkpoint and ends with the same loss,
#     every epoch logged once;
#   - the time-limit warning (USR1 to the batch script, sent here with
#     scancel -b): the job stops, requeues itself and resumes, same loss;
#   - cancel of a running job (it ends cancelled, follow exits 1) and of a
#     pending one;
#   - another user (uid 65534) can neither read nor cancel a job: the job
#     folder is 0700 and Slurm refuses its scancel;
#   - a 3x2 --sweep runs as a job array and `flatline group` lists six
#     verdicts.
# Needs root (slurmd) and Debian's slurm-wlm and munge (tools/deps.sh).
# Without them it exits 77 saying which is missing; a daemon that does not
# start fails the test with its log.
set -uo pipefail

build=$(cd "${1:?usage: test_slurm.sh BUILD_DIR}" && pwd)
src=$(cd "$(dirname "$0")/.." && pwd)
flatline=$build/flatline
flatlined=$build/flatlined

skip() { echo "skipped: $*"; exit 77; }
[ "$(id -u)" -eq 0 ] || skip "needs root to start slurmd (it runs jobs as their users)"
for p in munged slurmctld slurmd sbatch squeue scontrol scancel setpriv python3; do
  command -v "$p" >/dev/null || skip "no $p (Debian: apt-get install slurm-wlm munge; tools/deps.sh)"
done
[ -x "$flatline" ] && [ -x "$flatlined" ] || { echo "FAIL: no $flatline or $flatlined"; exit 1; }

tmp=$(mktemp -d /tmp/fl-slurm-XXXXXX)
chmod 0755 "$tmp"
. "$src/tests/slurm_cluster.sh"
cleanup() {
  slurm_cluster_stop "$tmp/cluster"
  rm -rf "$tmp"
}
trap cleanup EXIT
failures=0
fail() { echo "FAIL: $*"; failures=$((failures + 1)); }
ok() { echo "ok (${SECONDS}s): $*"; }

mkdir -p "$tmp/cluster"
if ! slurm_cluster_start "$tmp/cluster"; then
  echo "FAIL: the single-node Slurm cluster did not start (see above)"
  exit 1
fi
ok "single-node Slurm up: $(sinfo -h -o '%P %N %T')"

export FLATLINE_SLURM_DIR=$tmp/jobs
export FLATLINED=$flatlined
mkdir -p "$tmp/data"
cp "$src/examples/blobs/blobs.csv" "$tmp/data/"
# Long enough to be signalled mid-training: 1000 epochs of ~10 ms, most
# of it the per-epoch checkpoint's fsync, as in the service.
sed 's/"epochs": 10/"epochs": 1000/' "$src/examples/blobs/mlp.json" > "$tmp/data/long.json"
# Data paths stay relative to the spec's folder: submit makes them absolute.
cd "$tmp"

loss_at() { # loss_at LOG EPOCH: the logged loss of that epoch
  grep -o "\"event\":\"epoch\",\"job\":\"[^\"]*\",\"epoch\":$2,\"loss\":[^,]*" "$1" | sed 's/.*"loss"://'
}
wait_epochs() { # wait_epochs LOG N: up to 120 s for N epoch lines
  local i
  for i in $(seq 1 1200); do
    [ -f "$1" ] && [ "$(grep -c '"event":"epoch"' "$1")" -ge "$2" ] && return 0
    sleep 0.1
  done
  return 1
}
id_of() { sed -n 's/^submitted \(s[0-9]*\)$/\1/p' "$1"; }

# ---- the reference: flatlined --run of the same spec ----
"$flatlined" --run data/long.json --json > ref.jsonl 2>ref.err
ref=$(grep -o '"event":"epoch","job":"[^"]*","epoch":1000,"loss":[^,]*' ref.jsonl | sed 's/.*"loss"://')
[ -n "$ref" ] || { echo "FAIL: the reference run gave no final loss"; cat ref.err; exit 1; }
ok "reference (flatlined --run): final loss $ref"

# ---- 1. submit --slurm --follow: same final loss ----
"$flatline" submit data/long.json --slurm --time 10:00 > sub1.out 2>&1
rc=$?
job=$(id_of sub1.out)
[ "$rc" -eq 0 ] && [ -n "$job" ] || { fail "submit --slurm: exit $rc: $(cat sub1.out)"; job=s0; }
"$flatline" follow "$job" > follow1.out 2>&1
rc=$?
[ "$rc" -eq 0 ] || [ "$rc" -eq 3 ] || fail "follow $job: exit $rc: $(tail -5 follow1.out)"
got=$(loss_at "$FLATLINE_SLURM_DIR/$job/events.jsonl" 1000)
[ "$got" = "$ref" ] && ok "$job under Slurm: final loss $got = flatlined --run" \
  || fail "$job: final loss '$got', flatlined --run '$ref'"
"$flatline" show "$job" > show1.out 2>&1 || fail "show $job: $(cat show1.out)"
grep -q "state *done" show1.out && ok "show $job: done" || fail "show $job: $(head -5 show1.out)"
"$flatline" --json show "$job" | grep -q '"state":"done"' || fail "show --json $job"
"$flatline" list --slurm > list1.out 2>&1 && grep -q "^$job .*done" list1.out \
  && ok "list --slurm lists $job done" || fail "list --slurm: $(cat list1.out)"
"$flatline" export "$job" -o model.safetensors > exp.out 2>&1 \
  && cmp -s model.safetensors "$FLATLINE_SLURM_DIR/$job/model.safetensors" \
  && ok "export $job -o: $(cat exp.out)" || fail "export $job: $(cat exp.out)"
"$flatline" export "$job" --csv - > hist.csv 2>&1 && [ "$(wc -l < hist.csv)" -eq 1001 ] \
  && ok "export $job --csv: 1000 rows" || fail "export --csv: $(head -3 hist.csv)"

# ---- 2. scontrol requeue mid-training: resumes, same loss ----
"$flatline" submit data/long.json --slurm > sub2.out 2>&1
job2=$(id_of sub2.out)
if [ -z "$job2" ]; then
  fail "submit (requeue): $(cat sub2.out)"
else
  log2=$FLATLINE_SLURM_DIR/$job2/events.jsonl
  if ! wait_epochs "$log2" 200; then
    fail "$job2 did not reach epoch 200: $(squeue -j "${job2#s}")"
  else
    scontrol requeue "${job2#s}" || fail "scontrol requeue ${job2#s}"
    at=$(grep -c '"event":"epoch"' "$log2")
    # Slurm holds a requeued job back until its old credential expires
    # (slurm_cluster.sh: 10 s here); then let it go at once.
    slurm_cluster_wait_requeue "${job2#s}" || fail "$job2 did not pend again after scontrol requeue"
    "$flatline" follow "$job2" > follow2.out 2>&1
    rc=$?
    [ "$rc" -eq 0 ] || [ "$rc" -eq 3 ] || fail "follow $job2 after requeue: exit $rc: $(tail -5 follow2.out)"
    got=$(loss_at "$log2" 1000)
    n=$(grep -c '"event":"epoch"' "$log2")
    restarts=$(grep -c 'restart 1' "$FLATLINE_SLURM_DIR/$job2.out")
    resumed=$(grep -c 'resuming from' "$FLATLINE_SLURM_DIR/$job2.out")
    if [ "$got" = "$ref" ] && [ "$n" -eq 1000 ] && [ "$restarts" -ge 1 ] && [ "$resumed" -ge 1 ]; then
      ok "$job2 requeued at epoch ~$at: ran again (restart 1), resumed, final loss $got, 1000 epoch lines"
    else
      fail "$job2 requeue: loss '$got' (want $ref), $n epoch lines, restarts $restarts, resumed $resumed"
      tail -20 "$FLATLINE_SLURM_DIR/$job2.out"
    fi
  fi
fi

# ---- 2b. the time-limit warning (--signal=B:USR1@120), sent now with
# scancel -b -s USR1 instead of waiting minutes for a limit: the job stops
# with its state saved and requeues itself; it resumes to the same loss.
"$flatline" submit data/long.json --slurm > sub5.out 2>&1
job5=$(id_of sub5.out)
log5=$FLATLINE_SLURM_DIR/$job5/events.jsonl
if [ -z "$job5" ] || ! wait_epochs "$log5" 200; then
  fail "submit/run (USR1): $(cat sub5.out)"
else
  scancel --batch --signal=USR1 "${job5#s}" || fail "scancel -b -s USR1 ${job5#s}"
  slurm_cluster_wait_requeue "${job5#s}" || fail "$job5 did not requeue itself"
  "$flatline" follow "$job5" > follow5.out 2>&1
  rc=$?
  got=$(loss_at "$log5" 1000)
  if { [ "$rc" -eq 0 ] || [ "$rc" -eq 3 ]; } && [ "$got" = "$ref" ] &&
     grep -q "stopped after epoch" "$FLATLINE_SLURM_DIR/$job5.out" &&
     grep -q "restart 1" "$FLATLINE_SLURM_DIR/$job5.out"; then
    ok "$job5: USR1 stopped it with its state saved, it requeued itself, resumed, final loss $got"
  else
    fail "$job5 after USR1: follow exit $rc, loss '$got' (want $ref)"
    tail -5 "$FLATLINE_SLURM_DIR/$job5.out"
    scontrol show job "${job5#s}" | grep -E "JobState|Restarts"
    grep -E "JobId=${job5#s}[^0-9]" "$tmp/cluster/log/slurmctld.log" | tail -8
  fi
fi

# ---- 3. another user; cancel of a pending and of a running job ----
"$flatline" submit data/long.json --slurm --sbatch=--begin=now+1hour > sub3.out 2>&1
job3=$(id_of sub3.out)
[ -n "$job3" ] || fail "submit (pending): $(cat sub3.out)"
stranger() { setpriv --reuid=65534 --regid=65534 --clear-groups env HOME=/nonexistent "$@"; }
stranger "$flatline" show "$job3" > other.out 2>&1
rc=$?
[ "$rc" -eq 1 ] && grep -q "Permission denied" other.out \
  && ok "another user: show $job3 refused: $(cat other.out)" || fail "another user's show: exit $rc: $(cat other.out)"
stranger "$flatline" cancel "$job3" > other.out 2>&1
rc=$?
[ "$rc" -eq 1 ] && ok "another user: cancel $job3 refused: $(cat other.out)" || fail "another user's cancel: exit $rc"
stranger scancel "${job3#s}" > other.out 2>&1
[ "$(squeue -h -j "${job3#s}" -o %T)" = "PENDING" ] \
  && ok "another user's scancel: Slurm refused ($(tr '\n' ' ' < other.out))" || fail "a stranger's scancel went through"
stranger cat "$FLATLINE_SLURM_DIR/$job3/spec.json" > /dev/null 2>&1 && fail "another user read the spec"

"$flatline" cancel "$job3" > cancel3.out 2>&1
rc=$?
[ "$rc" -eq 0 ] && grep -q "^cancelled $job3" cancel3.out || fail "cancel $job3 (pending): exit $rc: $(cat cancel3.out)"
"$flatline" show "$job3" 2>&1 | grep -q "state *cancelled" && ok "pending $job3 cancelled" || fail "show $job3 after cancel"
"$flatline" follow "$job3" > /dev/null 2>&1
[ $? -eq 1 ] || fail "follow of the cancelled $job3 does not exit 1"

"$flatline" submit data/long.json --slurm > sub4.out 2>&1
job4=$(id_of sub4.out)
if [ -n "$job4" ] && wait_epochs "$FLATLINE_SLURM_DIR/$job4/events.jsonl" 100; then
  "$flatline" cancel "$job4" > cancel4.out 2>&1
  rc=$?
  [ "$rc" -eq 0 ] && grep -q "^cancelling $job4" cancel4.out || fail "cancel $job4: exit $rc: $(cat cancel4.out)"
  "$flatline" follow "$job4" > follow4.out 2>&1
  rc=$?
  if [ "$rc" -eq 1 ] && "$flatline" show "$job4" | grep -q "state *cancelled"; then
    ok "running $job4 cancelled: follow exits 1, show says cancelled"
  else
    fail "cancel of the running $job4: follow exit $rc: $(tail -3 follow4.out)"
  fi
  "$flatline" cancel "$job4" > /dev/null 2>&1 && fail "a second cancel of $job4 succeeded"
else
  fail "submit/run (cancel): $(cat sub4.out)"
fi

# ---- 4. a 3x2 sweep as a job array: six tasks, a summary of six verdicts ----
sed 's/"epochs": 10/"epochs": 30/' "$src/examples/blobs/mlp.json" > data/short.json
"$flatline" submit data/short.json --slurm --sweep optimizer.learning_rate=0.1,0.01,0.001 \
  --sweep batch_size=16,64 > sweep.out 2>&1
rc=$?
group=$(sed -n 's/^submitted group \(s[0-9]*\): 6 jobs.*/\1/p' sweep.out)
if [ "$rc" -ne 0 ] || [ -z "$group" ] || [ "$(grep -c "^submitted ${group}_[0-5]  " sweep.out)" -ne 6 ]; then
  fail "submit --slurm --sweep: exit $rc: $(cat sweep.out)"
else
  for i in 0 1 2 3 4 5; do
    "$flatline" follow "${group}_$i" > /dev/null 2>&1
    rc=$?
    [ "$rc" -eq 0 ] || [ "$rc" -eq 3 ] || fail "follow ${group}_$i: exit $rc"
  done
  "$flatline" group "$group" > group.out 2>&1 || fail "group $group: $(cat group.out)"
  verdicts=$(grep -cE "^[1-6] +${group}_[0-5] .* (healthy|problem|unexplained)" group.out)
  [ "$verdicts" -eq 6 ] && grep -q "^group $group: 6 jobs, best first" group.out \
    && ok "sweep as array $group: six tasks, the summary lists six verdicts" \
    || fail "group $group: $verdicts verdicts: $(cat group.out)"
  [ "$("$flatline" --json group "$group" | grep -c '"event":"group_job"')" -eq 6 ] \
    || fail "group --json $group: not six group_job lines"
  [ "$("$flatline" list --group "$group" | grep -c "^${group}_")" -eq 6 ] \
    || fail "list --group $group: not six jobs"
fi

if [ "$failures" -gt 0 ]; then
  echo "$failures check(s) failed; slurmctld log:"
  tail -20 "$tmp/cluster/log/slurmctld.log"
  exit 1
fi
echo "all Slurm checks passed"
