#!/usr/bin/python3
"""bench/run.sh's bookkeeping: turns one configuration's two outputs into a
table row, and prints the table.

  table.py row FLATLINE.jsonl TORCH.json JOB BATCH FL_WALL PT_WALL >> rows
  table.py print ROWS

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


def print_table(rows_path):
    with open(rows_path) as f:
        rows = [json.loads(ln) for ln in f if ln.strip()]
    head = ("job", "batch", "flatline samples/s", "PyTorch samples/s",
            "ratio fl/pt", "flatline test acc", "PyTorch test acc",
            "pt threads")
    body = []
    for r in rows:
        body.append((r["job"], str(r["batch"]),
                     fmt(r.get("fl_rate"), ".0f"), fmt(r.get("pt_rate"), ".0f"),
                     fmt(r.get("ratio"), ".3f"),
                     fmt(r.get("fl_acc"), ".4f"), fmt(r.get("pt_acc"), ".4f"),
                     str(r.get("pt_threads", "-"))
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
            probe_s = ("; thread probe samples/s " + ", ".join(
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
    if ver:
        print(f"\nPyTorch {ver}, BLAS: build {blas and blas.get('build')}, "
              f"loaded {', '.join(blas.get('mapped') or ['?']) if blas else '?'}")
    return 0 if rows and all(r["ok"] for r in rows) else 1


def main(argv):
    if len(argv) == 7 and argv[0] == "row":
        print(json.dumps(make_row(*argv[1:])))
        return 0
    if len(argv) == 2 and argv[0] == "print":
        return print_table(argv[1])
    sys.stderr.write(__doc__)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
