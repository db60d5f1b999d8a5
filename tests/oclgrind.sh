#!/usr/bin/env bash
# tests/oclgrind.sh — runs the kernel tests (test_kernels) on Oclgrind, a
# simulated OpenCL device that checks every memory access of every
# work-item: out-of-bounds reads and writes, data races in local and global
# memory (a missing or misplaced barrier), uses of uninitialized values, and
# bad arguments to OpenCL calls. POCL runs the same kernels one work-item
# after another, so it can pass a kernel that races or reads past a buffer.
#
#   tests/oclgrind.sh BUILD/tests/test_kernels    (ctest runs it this way)
#
# Exit status: 0 clean; 1 when a test failed or Oclgrind reported anything
# (the report is printed); 77 (ctest's skip) when oclgrind is not
# installed (Debian: apt-get install oclgrind; tools/deps.sh does).
#
# Oclgrind reports errors but exits 0, so its report goes to a log file
# (--log) and any line in it fails the run. The same options first run a
# kernel with a known race and a read past its buffer (oclgrind-kernel), so
# a version that stopped writing the log would fail here instead of passing.
#
# Why the options:
# - FL_TEST_SMALL=1: test_kernels' small GEMM shapes, which still cross
#   every tile edge (the simulator is ~1000x slower than POCL; about 30 s).
# - --build-options -cl-opt-disable: with optimization on, clang turns
#   `a > b ? a - b : 0` (the edge-tile loads in gemm_tiled.cl) into the
#   intrinsic llvm.usub.sat.i32, which Oclgrind 21.10 cannot execute
#   ("Undefined external function", the kernel gemm_nn_6x16 fails to
#   load); upstream has the same gap for other intrinsics (Oclgrind issue
#   205, llvm.fshl). Unoptimized code keeps every access as written, which
#   is what the checks should see anyway.
# - test_kernels empties CLBlast's program cache before closing the device:
#   otherwise CLBlast releases its programs from a static destructor at
#   exit, after glibc has destroyed Oclgrind's thread-local API call stack,
#   and the process dies with "malloc(): unsorted double linked list
#   corrupted" after all tests passed. That is Oclgrind's bug (any OpenCL
#   call from an exit handler does it; the OpenCL spec leaves such calls to
#   the implementation), not our release order: valgrind finds no other
#   error.
# Not under AddressSanitizer: its runtime must load first, and Oclgrind
# works by LD_PRELOAD, so tests/CMakeLists.txt adds this test to plain
# builds only.
set -uo pipefail

if [[ $# -ne 1 ]]; then
  echo "usage: $0 PATH/TO/test_kernels" >&2
  exit 2
fi
installed() { local p; p=$(command -v "$1") && [[ -x "$p" ]]; }
if ! installed oclgrind || ! installed oclgrind-kernel; then
  echo "skipped: oclgrind is not installed (Debian: apt-get install oclgrind)"
  exit 77
fi
checks=(--data-races --uninitialized)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# The self-check: item 0 sums local memory the other items write without a
# barrier (races), and every item reads one float past its input.
cat >"$work/bad.cl" <<'EOF'
kernel void bad(global const float *in, global float *out) {
  local float part[4];
  uint t = get_local_id(0);
  part[t] = in[t + 1];
  if (t == 0) out[0] = part[0] + part[1] + part[2] + part[3];
}
EOF
printf 'bad.cl\nbad\n4 1 1\n4 1 1\n\n<size=16 fill=1>\n<size=4 fill=0>\n' >"$work/bad.sim"
(cd "$work" && oclgrind-kernel "${checks[@]}" --log self.log bad.sim >/dev/null 2>&1)
if ! grep -q "data race" "$work/self.log" 2>/dev/null ||
   ! grep -q "Invalid read" "$work/self.log"; then
  echo "FAIL: oclgrind did not report a planted race and out-of-bounds read;"
  echo "this check could not fail. Its log:"
  cat "$work/self.log" 2>/dev/null
  exit 1
fi

FL_TEST_SMALL=1 oclgrind "${checks[@]}" --check-api --build-options -cl-opt-disable \
  --log "$work/kernels.log" "$1"
rc=$?
if [[ -s "$work/kernels.log" ]]; then
  echo "FAIL: Oclgrind reported $(grep -c '^[A-Z]' "$work/kernels.log") problem(s); the first ones:"
  head -n 120 "$work/kernels.log"
  exit 1
fi
if ((rc != 0)); then
  echo "FAIL: test_kernels exited $rc under Oclgrind"
  exit 1
fi
echo "oclgrind: no race, out-of-bounds access, uninitialized use or API error"
