#!/usr/bin/python3
"""bench/run.sh's bookkeeping: turns one configuration's two outputs into a
table row, and prints the table.

  table.py row FLATLINE.jsonl TORCH.json JOB BATCH FL_WALL PT_WALL >> rows
  table.py print ROWS [LATENCY.json]
  table.py latency LATENCY.json

LATENCY.json is bench/latency.py's --json-out: the warm submit-to-first-epoch
latency, printed as lines under the table (or alone with `latency`).

A row is one JSON line. Both sides' samples/s go through the same rule,
steady_rate(): the mean of the per-epoch samples/s after the first epoch (the
first carries warm-up: kernel builds, first-touch allocations, caches), or the
first epoch's own figure when there is only one.
"""
import json
import sys


def steady_rate(rates):
    rates = [float(r) for r in rates]
    if not rates:
        return None
    tail = rates[1:] if len(rates) > 1 else rates
    return sum(tail) / len(tail)


def read_flatline(path):
    """The epoch events and the end state of `flatlined --run --json`."""
    epochs, state, cause = [], None, None
    with open(path) as f:
        for line in f:
            line = line.strip()
            if not line.startswith("{"):
                continue
            ev = json.loads(line)
            if ev.get("event") == "epoch":
                epochs.append(ev)
            elif ev.get("event") == "end":
                state, cause = ev.get("state"), ev.get("cause")
    return epochs, state, cause


def make_row(fl_path, pt_path, job, batch, fl_wall, pt_wall):
    row = {"job": job, "batch": int(batch), "ok": True, "errors": [],
           "fl_wall_s": float(fl_wall), "pt_wall_s": float(pt_wall)}
    try:
        epochs, state, cause = read_flatline(fl_path)
        if state != "done" or not epochs:
            raise ValueError(f"flatline ended '{state}' ({cause}) after "
                             f"{len(epochs)} epoch(s)")
        row["fl_epoch_rates"] = [e["samples_per_s"] for e in epochs]
        row["fl_rate"] = steady_rate(row["fl_epoch_rates"])
        row["fl_acc"] = epochs[-1].get("val_accuracy")
        row["fl_epochs"] = len(epochs)
    except (OSError, ValueError, KeyError) as e:
        row["ok"] = False
        row["errors"].append(f"flatline: {e}")
    try:
        with open(pt_path) as f:
            lines = [ln for ln in f if ln.strip().startswith("{")]
        if not lines:
            raise ValueError("no result line")
        pt = json.loads(lines[-1])
        row["pt_epoch_rates"] = [e["samples_per_s"] for e in pt["per_epoch"]]
        row["pt_rate"] = steady_rate(row["pt_epoch_rates"])
        row["pt_acc"] = pt["test_accuracy"]
        row["pt_epochs"] = len(pt["per_epoch"])
        row["pt_threads"] = pt["threads"]
        row["pt_setting"] = pt.get("setting", f"{pt['threads']} threads")
        row["pt_gpu"] = pt.get("gpu")
        row["pt_threads_mode"] = pt["threads_mode"]
        row["pt_probe"] = pt.get("threads_probe_samples_per_s")
        row["pt_import_s"] = pt["import_seconds"]
        row["pt_blas"] = pt.get("blas")
        row["torch_version"] = pt.get("torch_version")
    except (OSError, ValueError, KeyError) as e:
        row["ok"] = False
        row["errors"].append(f"pytorch: {e}")
    if row["ok"] and row["fl_epochs"] != row["pt_epochs"]:
        row["ok"] = False
        row["errors"].append(f"epoch counts differ: flatline "
                             f"{row['fl_epochs']}, pytorch {row['pt_epochs']}")
    if row["ok"]:
        row["ratio"] = row["fl_rate"] / row["pt_rate"] if row["pt_rate"] else None
    return row


def fmt(v, spec, missing="-"):
    return missing if v is None else format(v, spec)


def ms(s):
    return f"{s * 1000:.0f} ms"


def latency_lines(lat):
    """The latency summary under the table: bench/latency.py's figures."""
    rep = lat["repeat"]
    goal = lat.get("goal_s", 0.25)
    out = [f"warm submit -> first epoch event (iris-sized job, `flatline "
           f"--json submit SPEC --follow`): median {ms(rep['median'])} "
           f"(min {ms(rep['min'])}, max {ms(rep['max'])}, n={rep['n']}); "
           f"goal < {ms(goal)}: "
           + ("met" if rep["median"] < goal else "MISSED")]
    parts = []
    if lat.get("new_shape"):
        parts.append(f"a shape the daemon had not seen: median "
                     f"{ms(lat['new_shape']['median'])} (max "
                     f"{ms(lat['new_shape']['max'])})")
    if lat.get("first"):
        parts.append(f"first job after start: {ms(lat['first']['min'])}")
    if lat.get("restart_first"):
        parts.append(f"after a restart: device "
                     + ("warm" if lat.get("warm_up_at_start") else "ready")
                     + " in "
                     f"{ms(lat['restart_ready_s'])}, a new shape "
                     f"{ms(lat['restart_first']['min'])}")
    if parts:
        out.append("  " + "; ".join(parts))
    if lat.get("torch_import"):
        ti, tf = lat["torch_import"], lat.get("torch_first_epoch")
        line = (f"PyTorch: `import torch` median {ti['median']:.2f} s "
                f"(min {ti['min']:.2f} s)")
        if tf:
            line += (f"; the same job, process start -> first epoch: median "
                     f"{tf['median']:.2f} s")
        out.append(line)
    return out


def print_latency(lat_path):
    with open(lat_path) as f:
        lat = json.load(f)
    for line in latency_lines(lat):
        print(line)
    return 0


def print_table(rows_path, lat_path=None):
    with open(rows_path) as f:
        rows = [json.loads(ln) for ln in f if ln.strip()]
    head = ("job", "batch", "flatline samples/s", "PyTorch samples/s",
            "ratio fl/pt", "flatline test acc", "PyTorch test acc",
            "PyTorch setting")
    body = []
    for r in rows:
        body.append((r["job"], str(r["batch"]),
                     fmt(r.get("fl_rate"), ".0f"), fmt(r.get("pt_rate"), ".0f"),
                     fmt(r.get("ratio"), ".3f"),
                     fmt(r.get("fl_acc"), ".4f"), fmt(r.get("pt_acc"), ".4f"),
                     str(r.get("pt_setting", "-"))
                     + (" (best)" if r.get("pt_threads_mode") == "best" else "")))
    widths = [max(len(h), *(len(b[i]) for b in body)) if body else len(h)
              for i, h in enumerate(head)]
    line = lambda cells: "  ".join(  # noqa: E731
        c.ljust(w) if i == 0 else c.rjust(w)
        for i, (c, w) in enumerate(zip(cells, widths)))
    print(line(head))
    print("  ".join("-" * w for w in widths))
    for b in body:
        print(line(b))
    if lat_path:
        with open(lat_path) as f:
            for line in latency_lines(json.load(f)):
                print(line)
    print()
    print("samples/s: training rows per second of an epoch, test evaluation "
          "excluded; the figure is")
    print("the mean over the epochs after the first (the first includes "
          "compile/warm-up), the same")
    print("rule for both sides; with a single epoch, that epoch. Test acc: "
          "the 10k test set after")
    print("the last epoch. ratio > 1 means flatline trains faster.")
    print()
    for r in rows:
        print(f"{r['job']} batch {r['batch']}:")
        if r.get("fl_epoch_rates") is not None:
            print("  flatline per-epoch samples/s: "
                  + ", ".join(f"{x:.0f}" for x in r["fl_epoch_rates"])
                  + f"   (process wall {r['fl_wall_s']:.1f} s)")
        if r.get("pt_epoch_rates") is not None:
            probe = r.get("pt_probe")
            probe_s = ("; probe samples/s " + ", ".join(
                f"{k}: {v:.0f}" for k, v in probe.items())) if probe else ""
            print("  PyTorch  per-epoch samples/s: "
                  + ", ".join(f"{x:.0f}" for x in r["pt_epoch_rates"])
                  + f"   (process wall {r['pt_wall_s']:.1f} s; import torch "
                  f"{r['pt_import_s']:.2f} s{probe_s})")
        for e in r["errors"]:
            print(f"  FAILED: {e}")
    blas = next((r["pt_blas"] for r in rows if r.get("pt_blas")), None)
    ver = next((r["torch_version"] for r in rows if r.get("torch_version")),
               None)
    gpu = next((r["pt_gpu"] for r in rows if r.get("pt_gpu")), None)
    if ver and gpu:
        print(f"\nPyTorch {ver} on {gpu} (CUDA)")
    elif ver:
        print(f"\nPyTorch {ver}, BLAS: build {blas and blas.get('build')}, "
              f"loaded {', '.join(blas.get('mapped') or ['?']) if blas else '?'}"
              + (f"; OpenBLAS kernels: {blas['core']}" if blas and blas.get("core") else ""))
    return 0 if rows and all(r["ok"] for r in rows) else 1


def main(argv):
    if len(argv) == 7 and argv[0] == "row":
        print(json.dumps(make_row(*argv[1:])))
        return 0
    if len(argv) in (2, 3) and argv[0] == "print":
        return print_table(*argv[1:])
    if len(argv) == 2 and argv[0] == "latency":
        return print_latency(argv[1])
    sys.stderr.write(__doc__)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
