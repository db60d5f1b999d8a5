#!/usr/bin/env bash
# tools/demo.sh — the README's demo command: installs what is missing,
# builds flatline (Release), lists the OpenCL devices and trains the example
# jobs in the foreground, streaming one line per epoch.
#   tools/demo.sh          the examples, Fashion-MNIST included (~1 minute
#                          on 2 CPU cores)
#   tools/demo.sh --quick  only the small CSV example
set -euo pipefail
cd "$(dirname "$0")/.."
tools/deps.sh

build=${BUILD_DIR:-build}
cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build "$build" -j "$(nproc)" --target flatlined

echo
echo "== OpenCL devices (* = the one \"auto\" picks)"
"$build/flatlined" --devices

echo
echo "== A small CSV job: 4 classes of 6 features (examples/blobs)"
"$build/flatlined" --run examples/blobs/mlp.json

if [[ "${1:-}" != "--quick" ]]; then
  echo
  echo "== Fashion-MNIST: 784-256-10 MLP, Adam 1e-3, batch 128, 5 epochs;"
  echo "   validation = the 10k test set (examples/fashion-mnist)"
  "$build/flatlined" --run examples/fashion-mnist/mlp.json
fi
echo
echo "The same jobs as JSON lines: $build/flatlined --run SPEC --json"
