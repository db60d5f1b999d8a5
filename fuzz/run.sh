#!/usr/bin/env bash
# fuzz/run.sh [SECONDS] — builds the libFuzzer harnesses (fuzz/fuzz_*.c)
# with clang, ASan and UBSan in build-fuzz (or $FUZZ_BUILD_DIR), then runs
# each for SECONDS (default 20) from its seed corpus fuzz/corpus/<name>/
# (<name> is the harness name without "fuzz_"). New inputs go to a scratch
# corpus in the build folder, never into the committed seeds; a crash leaves
# its input there as <harness>-crash-*. Exits non-zero if any harness
# crashes, leaks, times out or runs out of memory.
set -euo pipefail
cd "$(dirname "$0")/.."

secs=${1:-20}
if ! [[ "$secs" =~ ^[0-9]+$ ]] || ((secs < 1)); then
  echo "usage: fuzz/run.sh [SECONDS]" >&2
  exit 2
fi
dir=${FUZZ_BUILD_DIR:-build-fuzz}
cc=${FUZZ_CC:-clang}
command -v "$cc" >/dev/null || { echo "fuzz: $cc not found (tools/deps.sh installs clang)" >&2; exit 1; }

harnesses=()
for src in fuzz/fuzz_*.c; do
  harnesses+=("$(basename "$src" .c)")
done

echo "== fuzz: building ${harnesses[*]} in $dir"
# Tests are left out: only the harnesses and the libraries they link.
# -Wno-unknown-warning-option: the project's GCC-only warning flags
# (-Wno-format-truncation) would otherwise print a warning per file.
cmake -S . -B "$dir" -G Ninja -DFL_FUZZ=ON -DCMAKE_C_COMPILER="$cc" \
  -DCMAKE_BUILD_TYPE=RelWithDebInfo -DFL_BUILD_TESTS=OFF \
  -DCMAKE_C_FLAGS=-Wno-unknown-warning-option >/dev/null
cmake --build "$dir" --target "${harnesses[@]}"

# Leaks are failures; UBSan findings stop the run (-fno-sanitize-recover is
# not set under FL_FUZZ, so ask for it here).
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}

failed=()
for h in "${harnesses[@]}"; do
  name=${h#fuzz_}
  seeds=fuzz/corpus/$name
  work=$dir/corpus/$name
  artifacts=$dir/artifacts
  mkdir -p "$work" "$artifacts"
  [[ -d "$seeds" ]] || seeds=
  log=$dir/$h.log
  echo "== fuzz: $h for ${secs}s (seeds: ${seeds:-none})"
  rc=0
  "$dir/$h" -max_total_time="$secs" -rss_limit_mb=2048 -timeout=10 \
    -print_final_stats=1 -artifact_prefix="$artifacts/$h-" \
    "$work" ${seeds:+"$seeds"} >"$log" 2>&1 || rc=$?
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
  cov=$(grep -o 'cov: [0-9]*' "$log" | tail -1 || true)
  if ((rc != 0)); then
    echo "fuzz: $h FAILED (exit $rc) after ${execs:-?} runs; log: $log" >&2
    grep -E 'ERROR|SUMMARY|runtime error|==[0-9]+==' "$log" | head -20 >&2 || true
    ls "$artifacts"/"$h"-* 2>/dev/null | sed 's/^/fuzz:   input: /' >&2 || true
    failed+=("$h")
  else
    echo "fuzz: $h ok: ${execs:-?} runs, ${cov:-cov: ?}"
  fi
done

if ((${#failed[@]})); then
  echo "== fuzz: FAILED: ${failed[*]}" >&2
  exit 1
fi
echo "== fuzz: all ${#harnesses[@]} harnesses ran ${secs}s each without a finding"
