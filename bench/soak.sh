#!/usr/bin/env bash
# bench/soak.sh — the daemon's memory over many jobs: starts a throwaway
# flatlined, submits N small jobs one after another through the client
# (each followed to its end, then followed again and listed, so replays,
# follows and the list are exercised too), and samples the daemon's
# resident memory (VmRSS) every STEP jobs. Prints the samples and the
# growth per job over the second half (the first half includes warm-up:
# the OpenCL program, tuning, allocator arenas).
#   bench/soak.sh [N=300] [STEP=50] [BUILD_DIR=build]
# What is retained by design per job: its fl_job record (about 5 KiB,
# mostly its folder's path) with its last epoch event (about 1 KiB) and
# its diagnosis' fix, plus the allocator's share; a growth per job well
# above ~15 KiB is a leak.
set -euo pipefail
cd "$(dirname "$0")/.."
n=${1:-300}
step=${2:-50}
build=${BUILD_DIR:-build}
work=$(mktemp -d /tmp/flatline-soak.XXXXXX)
trap 'kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; rm -rf "$work"' EXIT
"$build/flatlined" --socket "$work/s.sock" --state-dir "$work/state" \
  --cache-dir "$work/state" 2>"$work/daemon.log" &
pid=$!
export FLATLINE_SOCKET="$work/s.sock"
for _ in $(seq 100); do [[ -S "$work/s.sock" ]] && break; sleep 0.2; done
cp -r examples/article/data "$work/"
python3 - "$work" <<'PY'
import json, sys
work = sys.argv[1]
spec = json.load(open("examples/article/1_corrected.json"))
spec["epochs"] = 3
json.dump(spec, open(f"{work}/job.json", "w"))
PY
rss() { awk '/VmRSS/ {print $2}' "/proc/$pid/status"; }
declare -a samples
echo "jobs  rss_kib"
for i in $(seq 1 "$n"); do
  id=$("$build/flatline" --json submit "$work/job.json" --follow 2>/dev/null |
       sed -n 's/.*"job":"\(j[0-9]*\)".*/\1/p' | head -1) || true
  "$build/flatline" follow "$id" >/dev/null 2>&1 || true
  if (( i % step == 0 )); then
    "$build/flatline" list >/dev/null
    samples[$i]=$(rss)
    echo "$i  ${samples[$i]}"
  fi
done
half=$(( (n / 2) / step * step ))
if (( half >= step && half < n )) && [[ -n "${samples[$half]:-}" && -n "${samples[$n]:-}" ]]; then
  awk -v a="${samples[$half]}" -v b="${samples[$n]}" -v j=$(( n - half )) \
    'BEGIN { printf "growth over the last %d jobs: %.1f KiB per job\n", j, (b - a) / j }'
fi
