#!/usr/bin/env bash
# tools/demo.sh — the README's demo command: installs what is missing,
# builds flatline (Release), starts a throwaway flatlined on a temporary
# socket and state dir, and submits the example jobs through the flatline
# client, which streams their epochs. The daemon is stopped at the end.
#   tools/demo.sh          the examples, Fashion-MNIST included (~1 minute
#                          on 2 CPU cores)
#   tools/demo.sh --quick  only the small CSV example
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

echo
echo "== A throwaway flatlined is listening on $sock; its devices:"
flatline devices

echo
echo "== A small CSV job: 4 classes of 6 features (examples/blobs)"
flatline submit examples/blobs/mlp.json --follow

if [[ "${1:-}" != "--quick" ]]; then
  echo
  echo "== Fashion-MNIST: 784-256-10 MLP, Adam 1e-3, batch 128, 5 epochs;"
  echo "   validation = the 10k test set (examples/fashion-mnist)"
  flatline submit examples/fashion-mnist/mlp.json --follow
fi

echo
echo "== Everyone's jobs on this daemon"
flatline list
echo
echo "The same streams as JSON lines: flatline --json submit SPEC --follow"
