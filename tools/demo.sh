#!/usr/bin/env bash
# tools/demo.sh — the README's demo command: installs what is missing,
# builds flatline (Release), starts a throwaway flatlined on a temporary
# socket and state dir, and submits the example jobs through the flatline
# client, which streams their epochs. The daemon is stopped at the end.
#   tools/demo.sh          the examples, Fashion-MNIST included (~1 minute
#                          on 2 CPU cores)
#   tools/demo.sh --quick  without the 5-epoch Fashion-MNIST run
# The client exits 3 for a job done with a diagnosed problem: expected here.
set -euo pipefail
cd "$(dirname "$0")/.."
tools/deps.sh

build=${BUILD_DIR:-build}
cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build "$build" -j "$(nproc)" --target flatlined flatline

work=$(mktemp -d /tmp/flatline-demo.XXXXXX)
sock="$work/flatline.sock"
"$build/flatlined" --socket "$sock" --state-dir "$work/state" \
  --cache-dir "${XDG_CACHE_HOME:-$HOME/.cache}/flatline" 2>"$work/daemon.log" &
daemon=$!
cleanup() {
  kill -TERM "$daemon" 2>/dev/null && wait "$daemon" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT
for _ in $(seq 100); do [[ -S "$sock" ]] && break; sleep 0.1; done
flatline() { "$build/flatline" --socket "$sock" "$@"; }
# A job's stream; exit 3 (done, with a diagnosed problem) is what the faulty
# examples are for. Anything else stops the demo.
follow() {
  local rc=0
  flatline submit "$1" --follow || rc=$?
  if [[ $rc != 0 && $rc != 3 ]]; then
    echo "demo: flatline submit $1 exited $rc; daemon log:" >&2
    tail -20 "$work/daemon.log" >&2
    exit 1
  fi
}

echo
echo "== A throwaway flatlined is listening on $sock; its devices:"
flatline devices

echo
echo "== A healthy job: a small CSV, 4 classes of 6 features (examples/blobs)"
follow examples/blobs/mlp.json

echo
echo "== The seed article's first program exactly as written: 100 rows of random"
echo "   features, 3 random classes, one softmax layer, 5 epochs, no validation."
echo "   The loss is flat because the labels carry no information, and flatline"
echo "   tests that with a permutation test (examples/article/1.json)"
follow examples/article/1.json

echo
echo "== Its third program, Adam at learning rate 1.0 (examples/article/3.json)"
follow examples/article/3.json

echo
echo "== A real fault on Fashion-MNIST: learning rate too high"
follow examples/faulty/learning_rate_too_high.json
last=$(flatline --json list | tail -1 | sed 's/.*"job":"\([^"]*\)".*/\1/')
echo "-- flatline show $last --fixed-spec"
flatline show "$last" --fixed-spec

echo
echo "== monitor.on_plateau = fix: the same fault, repaired by flatline itself"
follow examples/faulty/fix_learning_rate.json

echo
echo "== A small CNN: conv 16 3x3 relu - maxpool - conv 32 3x3 relu - maxpool -"
echo "   flatten - dense 64 - dense 10 on 2000 Fashion-MNIST rows (28x28x1),"
echo "   2 epochs (examples/fashion-cnn/small.json; the full one: cnn.json)"
follow examples/fashion-cnn/small.json

if [[ "${1:-}" != "--quick" ]]; then
  echo
  echo "== Fashion-MNIST: 784-256-10 MLP, Adam 1e-3, batch 128, 5 epochs;"
  echo "   validation = the 10k test set (examples/fashion-mnist)"
  follow examples/fashion-mnist/mlp.json
fi

echo
echo "== Everyone's jobs on this daemon"
flatline list
echo
echo "The same streams as JSON lines: flatline --json submit SPEC --follow"
