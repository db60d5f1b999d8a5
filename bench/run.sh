#!/usr/bin/env bash
# bench/run.sh — the same Fashion-MNIST MLP job trained by flatline
# (flatlined --run --json) and by PyTorch on the CPU or a CUDA GPU
# (bench/torch_mlp.py),
# one after the other per configuration, then one table: samples/s of both,
# their ratio, and both test accuracies; under it the warm submit-to-first-
# epoch latency of a small job through a throwaway daemon and the real
# client (bench/latency.py). See bench/README.md.
set -euo pipefail

usage() {
  cat <<'EOF'
usage: bench/run.sh [--configs default|all] [--epochs N] [--threads N|best] [--full]
                    [--torch-device cpu|cuda] [--tune quick|full] [--no-build]
                    [--latency-only | --no-latency]

  --configs default   784-256-10 at batch 128 (the default)
  --configs all       784-256-10 and 784-512-256-10, each at batch 32, 128, 512
  --epochs N          epochs per run, the same for both sides (default 2)
  --threads N|best    PyTorch's torch.set_num_threads; 'best' (default) tries
                      1 and 2 on a short run and keeps the faster
  --full              the full job: 784-256-10, batch 128, 5 epochs
                      (overrides --configs and --epochs)
  --torch-device D    where PyTorch trains: cpu (default) or cuda; on a GPU
                      machine flatline's 'auto' device is the GPU too. With
                      cuda, --threads is not used: PyTorch's best Adam
                      (foreach, fused, or fused with the step as a CUDA graph)
                      is measured instead
  --tune quick|full   run `flatlined --tune` first (into the cache dir), so
                      that the runs use the device's tuned GEMMs
  --no-build          use the flatlined and flatline already in BUILD_DIR
                      (a machine without a compiler, or a copied build)
  --latency-only      only the latency measurement (bench/latency.py): a
                      throwaway flatlined on a temporary socket, state and
                      cache folder; `flatline --json submit --follow` of an
                      iris-sized job, timed to its first epoch event; and
                      PyTorch's `import torch` (about 20 s in all)
  --no-latency        the throughput table without the latency measurement

Environment: BUILD_DIR (default build-bench, relative to the repository root)
is the Release build folder this script owns; PYTHON (default /usr/bin/python3)
is the interpreter that has python3-torch; DATA_DIR (default
/usr/share/datasets/fashion-mnist) holds the IDX .gz files; CACHE_DIR, when
set, is flatlined's --cache-dir (compiled kernels, GEMM tuning) for the runs
and --tune (with --tune and no CACHE_DIR, a temporary folder).
Exit status: 0 when every run of both sides finished, 1 otherwise, 2 usage.
EOF
}

configs=default
epochs=2
threads=best
full=0
latency=1
latency_only=0
torch_device=cpu
tune=none
build=1
while [[ $# -gt 0 ]]; do
  case "$1" in
    --configs) [[ $# -ge 2 ]] || { usage >&2; exit 2; }; configs=$2; shift 2 ;;
    --epochs) [[ $# -ge 2 ]] || { usage >&2; exit 2; }; epochs=$2; shift 2 ;;
    --threads) [[ $# -ge 2 ]] || { usage >&2; exit 2; }; threads=$2; shift 2 ;;
    --full) full=1; shift ;;
    --torch-device) [[ $# -ge 2 ]] || { usage >&2; exit 2; }; torch_device=$2; shift 2 ;;
    --tune) [[ $# -ge 2 ]] || { usage >&2; exit 2; }; tune=$2; shift 2 ;;
    --no-build) build=0; shift ;;
    --latency-only) latency_only=1; shift ;;
    --no-latency) latency=0; shift ;;
    -h|--help) usage; exit 0 ;;
    *) echo "run.sh: unknown option '$1'" >&2; usage >&2; exit 2 ;;
  esac
done
[[ $configs == default || $configs == all ]] ||
  { echo "run.sh: --configs takes 'default' or 'all', not '$configs'" >&2; exit 2; }
[[ $epochs =~ ^[1-9][0-9]*$ ]] ||
  { echo "run.sh: --epochs takes a whole number >= 1, not '$epochs'" >&2; exit 2; }
[[ $threads == best || $threads =~ ^[1-9][0-9]*$ ]] ||
  { echo "run.sh: --threads takes a number >= 1 or 'best', not '$threads'" >&2; exit 2; }
[[ $torch_device =~ ^(cpu|cuda(:[0-9]+)?)$ ]] ||
  { echo "run.sh: --torch-device takes cpu or cuda, not '$torch_device'" >&2; exit 2; }
[[ $tune == none || $tune == quick || $tune == full ]] ||
  { echo "run.sh: --tune takes quick or full, not '$tune'" >&2; exit 2; }
[[ $latency_only == 0 || $latency == 1 ]] ||
  { echo "run.sh: --latency-only and --no-latency exclude each other" >&2; exit 2; }
if [[ $full == 1 ]]; then
  configs=default
  epochs=5
fi

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
bench=$root/bench
build_dir=${BUILD_DIR:-build-bench}
[[ $build_dir == /* ]] || build_dir=$root/$build_dir
python=${PYTHON:-/usr/bin/python3}
data_dir=${DATA_DIR:-/usr/share/datasets/fashion-mnist}
# The job specs name the files by absolute path: a spec's relative paths
# would be read from the spec's own (temporary) folder.
[[ $data_dir == /* ]] || data_dir=$PWD/$data_dir
start_s=$SECONDS

[[ $latency_only == 1 ]] ||
for f in train-images-idx3-ubyte.gz train-labels-idx1-ubyte.gz \
         t10k-images-idx3-ubyte.gz t10k-labels-idx1-ubyte.gz; do
  [[ -r $data_dir/$f ]] || {
    echo "run.sh: $data_dir/$f is missing (apt-get install dataset-fashion-mnist)" >&2
    exit 1
  }
done
"$python" -c 'import torch, numpy' 2>/dev/null || {
  echo "run.sh: $python cannot import torch and numpy (apt-get install python3-torch)" >&2
  exit 1
}

tmp=$(mktemp -d "${TMPDIR:-/tmp}/flatline-bench.XXXXXX")
trap 'rm -rf "$tmp"' EXIT

# --- build flatlined and flatline (Release) in the folder this script owns --
if [[ $build == 1 ]]; then
echo "== building flatlined and flatline (Release) in $build_dir" >&2
generator=()
if [[ ! -f $build_dir/CMakeCache.txt ]] && command -v ninja >/dev/null; then
  generator=(-G Ninja)
fi
if ! { cmake -S "$root" -B "$build_dir" "${generator[@]}" -DCMAKE_BUILD_TYPE=Release &&
       cmake --build "$build_dir" --target flatlined flatline; } >"$tmp/build.log" 2>&1; then
  tail -n 40 "$tmp/build.log" >&2
  echo "run.sh: building flatlined failed (log above)" >&2
  exit 1
fi
fi
flatlined=$build_dir/flatlined
flatline=$build_dir/flatline
for exe in "$flatlined" "$flatline"; do
  [[ -x $exe ]] || { echo "run.sh: no $exe (build it, or leave out --no-build)" >&2; exit 1; }
done
cache_dir=${CACHE_DIR:-}
[[ $tune == none || -n $cache_dir ]] || cache_dir=$tmp/cache
cache_arg=()
[[ -z $cache_dir ]] || cache_arg=(--cache-dir "$cache_dir")

# The warm submit-to-first-epoch latency (bench/latency.py): its report on
# stdout, its summary in $tmp/latency.json for the table. Sets lat_rc.
lat_json=$tmp/latency.json
run_latency() {
  echo "== latency: a throwaway flatlined, an iris-sized job submitted" \
       "through flatline (about 20 s)" >&2
  lat_rc=0
  "$python" "$bench/latency.py" --flatlined "$flatlined" --flatline "$flatline" \
    --torch-python "$python" --json-out "$lat_json" || lat_rc=$?
  if [[ $lat_rc != 0 ]]; then
    echo "run.sh: bench/latency.py exited $lat_rc" >&2
    rm -f "$lat_json"
  fi
}

# --- the machine ----------------------------------------------------------
cpu=$(sed -n 's/^model name[[:space:]]*:[[:space:]]*//p' /proc/cpuinfo | head -n 1)
echo "machine: $(nproc) CPUs (nproc), ${cpu:-unknown CPU}, $(uname -sr)"
echo "OpenCL devices (flatlined --devices; * = the one 'auto' picks):"
if ! "$flatlined" --devices | sed 's/^/  /'; then
  echo "run.sh: flatlined --devices failed" >&2
  exit 1
fi
if [[ $latency_only == 1 ]]; then
  echo
  run_latency
  if [[ $lat_rc == 0 ]]; then
    echo
    "$python" "$bench/table.py" latency "$lat_json"
  fi
  echo
  echo "wall time of the whole run (build included): $((SECONDS - start_s)) s"
  exit $((lat_rc != 0))
fi
if [[ $tune != none ]]; then
  quick=()
  [[ $tune == quick ]] && quick=(--quick)
  echo "GEMM tuning (flatlined --tune ${quick[*]} --cache-dir $cache_dir):"
  if ! "$flatlined" --tune "${quick[@]}" "${cache_arg[@]}" | sed 's/^/  /'; then
    echo "run.sh: flatlined --tune failed" >&2
    exit 1
  fi
fi
if [[ $torch_device == cpu ]]; then
  echo "epochs per run: $epochs; PyTorch on the CPU, threads: $threads"
else
  echo "epochs per run: $epochs; PyTorch on $torch_device"
fi
echo

# --- the configurations ---------------------------------------------------
if [[ $configs == all ]]; then
  layer_sets=(784-256-10 784-512-256-10)
  batches=(32 128 512)
else
  layer_sets=(784-256-10)
  batches=(128)
fi

# A flatline job spec for hidden sizes $1 (dash-separated, input and output
# included) and batch $2, written to $3. The same job as
# examples/fashion-mnist/mlp.json apart from sizes, batch and epochs.
write_spec() {
  local sizes=$1 batch=$2 out=$3 name=$4
  local IFS=-
  # shellcheck disable=SC2206
  local s=($sizes)
  unset IFS
  local n=${#s[@]} layers="" i
  for ((i = 1; i < n - 1; i++)); do
    layers+="    {\"type\": \"dense\", \"units\": ${s[i]}, \"activation\": \"relu\"},"$'\n'
  done
  layers+="    {\"type\": \"dense\", \"units\": ${s[n-1]}, \"activation\": \"softmax\"}"
  cat >"$out" <<EOF
{
  "name": "$name",
  "data": {
    "train": {"idx_images": "$data_dir/train-images-idx3-ubyte.gz",
              "idx_labels": "$data_dir/train-labels-idx1-ubyte.gz",
              "scale": 0.00392156862745098},
    "validation": {"idx_images": "$data_dir/t10k-images-idx3-ubyte.gz",
                   "idx_labels": "$data_dir/t10k-labels-idx1-ubyte.gz",
                   "scale": 0.00392156862745098}
  },
  "model": {"layers": [
$layers
  ]},
  "loss": "sparse_categorical_crossentropy",
  "optimizer": {"name": "adam", "learning_rate": 0.001},
  "epochs": $epochs,
  "batch_size": $batch,
  "seed": 1,
  "shuffle": true
}
EOF
}

# Seconds since $1 (a `date +%s.%N` reading).
elapsed() { awk -v a="$1" -v b="$(date +%s.%N)" 'BEGIN { printf "%.2f", b - a }'; }

rows=$tmp/rows.jsonl
: >"$rows"
failed=0
for sizes in "${layer_sets[@]}"; do
  for batch in "${batches[@]}"; do
    job=$sizes
    tag=$sizes-b$batch
    spec=$tmp/$tag.json
    write_spec "$sizes" "$batch" "$spec" "bench-$tag"

    echo "== $job batch $batch: flatline ($epochs epochs)" >&2
    t0=$(date +%s.%N)
    fl_rc=0
    "$flatlined" --run "$spec" --json "${cache_arg[@]}" >"$tmp/$tag.flatline.jsonl" \
      2>"$tmp/$tag.flatline.err" || fl_rc=$?
    fl_wall=$(elapsed "$t0")
    if [[ $fl_rc != 0 ]]; then
      echo "run.sh: flatlined exited $fl_rc on $tag:" >&2
      tail -n 20 "$tmp/$tag.flatline.err" "$tmp/$tag.flatline.jsonl" >&2 || true
      failed=1
    fi

    echo "== $job batch $batch: PyTorch ($epochs epochs, $torch_device)" >&2
    t0=$(date +%s.%N)
    pt_rc=0
    "$python" "$bench/torch_mlp.py" --layers "${sizes//-/,}" --batch "$batch" \
      --epochs "$epochs" --threads "$threads" --device "$torch_device" \
      --seed 1 --data-dir "$data_dir" \
      --name "$job" >"$tmp/$tag.torch.json" 2>"$tmp/$tag.torch.err" || pt_rc=$?
    pt_wall=$(elapsed "$t0")
    if [[ $pt_rc != 0 ]]; then
      echo "run.sh: torch_mlp.py exited $pt_rc on $tag:" >&2
      tail -n 20 "$tmp/$tag.torch.err" >&2 || true
      failed=1
    fi

    "$python" "$bench/table.py" row "$tmp/$tag.flatline.jsonl" \
      "$tmp/$tag.torch.json" "$job" "$batch" "$fl_wall" "$pt_wall" >>"$rows"
  done
done

lat_rc=0
if [[ $latency == 1 ]]; then
  echo
  run_latency
fi

echo
table_rc=0
lat_arg=()
[[ -f $lat_json ]] && lat_arg=("$lat_json")
"$python" "$bench/table.py" print "$rows" "${lat_arg[@]}" || table_rc=$?
echo
echo "wall time of the whole run (build included): $((SECONDS - start_s)) s"
if [[ $failed != 0 || $table_rc != 0 || $lat_rc != 0 ]]; then
  echo "run.sh: at least one run failed (see above)" >&2
  exit 1
fi
