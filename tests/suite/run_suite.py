#!/usr/bin/env python3
"""Run flatline's labelled diagnosis suite and score it.

Each row of manifest.tsv (path<TAB>expect<TAB>note; '#' lines and blank
lines are skipped) names a job spec, relative to the manifest's folder,
and the cause code the diagnosis should put first, or "none" for a
healthy job. "a|b" accepts either code (used only where two causes are
both right, e.g. seed case (c)).

    run_suite.py [FLATLINED]                 # or FLATLINED=... run_suite.py
    run_suite.py --client FLATLINE --socket S
    run_suite.py --report-only --evidence -k relu

Foreground mode runs `FLATLINED --run SPEC --json`. Client mode runs
`FLATLINE --json --socket S check SPEC` and then
`FLATLINE --json --socket S submit SPEC --follow` against a running
daemon. Both parse the same events (one JSON object per line, each with
an "event" key); the job's top cause is the first cause of its `verdict`
event when the verdict is "problem", "none" when it is "healthy",
"unexplained" when it is "unexplained" (wrong on a faulty job, a false
alarm on a healthy one); without a verdict event, in this order:

  1. the first cause of the first `diagnosis` event with non-empty causes;
  2. else the cause of the first `error` finding of a `preflight` event;
  3. else the `cause` of an `end` event whose state is rejected or failed
     ("failed" if it has none), else the `cause` of any `end` event that
     has one (a job done with a diagnosed problem);
  4. else "none".

A run that prints no `end` event (a crash, a timeout) scores as
"crash(rc=N)" or "timeout", never as "none". The summary line is

  suite: N jobs, accuracy X/Y on faulty jobs, false alarms Z/W on healthy jobs

and the exit status is 1 when any job's result differs from its expect
(0 with --report-only), 2 on a usage error. Plain Python 3, no packages.
"""
import argparse
import json
import os
import re
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))

# DESIGN.md section 4 (a contract): the only codes a manifest may expect.
CAUSES = (
    "invalid_data", "label_encoding_mismatch", "labels_out_of_range",
    "output_loss_mismatch", "device_out_of_memory", "labels_uninformative",
    "class_imbalance", "insufficient_capacity", "learning_rate_too_high",
    "learning_rate_too_low", "poor_initialization", "dead_relu",
    "saturated_activation", "vanishing_gradient", "exploding_gradient",
    "numerical_instability", "unnormalized_inputs", "optimizer_choice",
    "overfitting")


def read_manifest(path):
    rows = []
    with open(path, encoding="utf-8") as f:
        for lineno, line in enumerate(f, 1):
            line = line.rstrip("\n")
            if not line.strip() or line.lstrip().startswith("#"):
                continue
            parts = line.split("\t")
            if len(parts) < 2:
                raise SystemExit("%s:%d: expected path<TAB>expect<TAB>note"
                                 % (path, lineno))
            row = {"path": parts[0].strip(), "expect": parts[1].strip(),
                   "note": parts[2].strip() if len(parts) > 2 else ""}
            for code in row["expect"].split("|"):
                if code != "none" and code not in CAUSES:
                    raise SystemExit("%s:%d: unknown cause code %r" %
                                     (path, lineno, code))
            spec = os.path.join(os.path.dirname(os.path.abspath(path)),
                                row["path"])
            if not os.path.isfile(spec):
                raise SystemExit("%s:%d: no such spec %s" %
                                 (path, lineno, spec))
            rows.append(row)
    return rows


def parse_events(text):
    events = []
    for line in text.splitlines():
        line = line.strip()
        if not line.startswith("{"):
            continue
        try:
            obj = json.loads(line)
        except ValueError:
            continue
        if isinstance(obj, dict) and "event" in obj:
            events.append(obj)
    return events


def top_cause(events):
    for e in events:  # the job's final word (DESIGN.md section 6)
        if e.get("event") == "verdict":
            causes = e.get("causes") or []
            if e.get("verdict") == "problem" and causes:
                c = causes[0]
                return c.get("cause") if isinstance(c, dict) else str(c)
            return "none" if e.get("verdict") == "healthy" else "unexplained"
    for e in events:
        if e.get("event") == "diagnosis":
            causes = e.get("causes") or []
            if causes:
                c = causes[0]
                return c.get("cause") if isinstance(c, dict) else str(c)
    for e in events:
        if e.get("event") == "preflight":
            for f in e.get("findings") or []:
                if isinstance(f, dict) and f.get("severity") == "error":
                    return f.get("cause") or "preflight_error"
    for e in events:
        if e.get("event") == "end" and e.get("state") in ("rejected", "failed"):
            return e.get("cause") or e.get("state")
    for e in events:  # "done with a diagnosed problem" (exit status 3)
        if e.get("event") == "end" and e.get("cause"):
            return e.get("cause")
    return "none"


def run_cmd(argv, timeout):
    t0 = time.monotonic()
    try:
        p = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                           timeout=timeout)
        out = p.stdout.decode("utf-8", "replace")
        err = p.stderr.decode("utf-8", "replace")
        rc = p.returncode
    except subprocess.TimeoutExpired as e:
        out = (e.stdout or b"").decode("utf-8", "replace")
        err = (e.stderr or b"").decode("utf-8", "replace")
        rc = None
    except OSError as e:
        raise SystemExit("run_suite: cannot run %s: %s" % (argv[0], e))
    return out, err, rc, time.monotonic() - t0


def run_job(spec, args):
    """-> (events, got, seconds, stderr tail)"""
    if args.client:
        base = [args.client, "--json"]
        if args.socket:
            base += ["--socket", args.socket]
        out1, err1, rc1, s1 = run_cmd(base + ["check", spec], args.timeout)
        events = parse_events(out1)
        if rc1 is None:
            return events, "timeout", s1, err1
        out2, err2, rc2, s2 = run_cmd(base + ["submit", spec, "--follow"],
                                      args.timeout)
        events += parse_events(out2)
        seconds, err, rc = s1 + s2, err1 + err2, rc2
    else:
        out, err, rc, seconds = run_cmd([args.flatlined, "--run", spec,
                                         "--json"], args.timeout)
        events = parse_events(out)
    if rc is None:
        return events, "timeout", seconds, err
    got = top_cause(events)
    if got == "none" and not any(e.get("event") == "end" for e in events):
        got = "crash(rc=%s)" % rc
    return events, got, seconds, err


def fmt(v):
    if v is None:
        return "-"
    if isinstance(v, float):
        return "%.3g" % v
    return str(v)


def evidence(events):
    """One line of what the epoch metrics showed, for people."""
    ep = [e for e in events if e.get("event") == "epoch"]
    if not ep:
        ends = [e for e in events if e.get("event") == "end"]
        pre = [f.get("cause") for e in events if e.get("event") == "preflight"
               for f in e.get("findings") or [] if isinstance(f, dict)]
        bits = []
        if pre:
            bits.append("preflight " + ",".join(str(p) for p in pre))
        if ends:
            bits.append("end %s: %s" % (ends[-1].get("state"),
                                        (ends[-1].get("message") or "")[:110]))
        return "; ".join(bits) or "no events"
    a, z = ep[0], ep[-1]

    def layers(key, e):
        return "[" + " ".join(fmt(v) for v in (e.get(key) or [])) + "]"

    def mx(key):
        vals = [v for e in ep for v in (e.get(key) or []) if v is not None]
        return max(vals) if vals else None

    hist = z.get("pred_hist") or []
    share = (max(hist) / float(sum(hist))) if hist and sum(hist) else None
    return ("first_batch %s | loss %s->%s acc %s->%s | val_loss %s->%s "
            "val_acc %s->%s | grad_norm %s | update_ratio %s | dead max %s | "
            "sat max %s | top pred share %s | nonfinite %s" % (
                fmt(a.get("first_batch_loss")), fmt(a.get("loss")),
                fmt(z.get("loss")), fmt(a.get("accuracy")),
                fmt(z.get("accuracy")), fmt(a.get("val_loss")),
                fmt(z.get("val_loss")), fmt(a.get("val_accuracy")),
                fmt(z.get("val_accuracy")), layers("grad_norm", z),
                layers("update_ratio", z), fmt(mx("dead_fraction")),
                fmt(mx("saturated_fraction")), fmt(share),
                any(e.get("nonfinite") for e in ep)))


def main():
    ap = argparse.ArgumentParser(
        description="Run flatline's labelled diagnosis suite.",
        epilog="FLATLINED (env) names the daemon binary when no argument does.")
    ap.add_argument("flatlined", nargs="?", default=os.environ.get("FLATLINED"),
                    help="path to flatlined (foreground mode)")
    ap.add_argument("--client", metavar="FLATLINE",
                    help="submit through this flatline client instead")
    ap.add_argument("--socket", metavar="S",
                    help="daemon socket for --client")
    ap.add_argument("--manifest", default=os.path.join(HERE, "manifest.tsv"))
    ap.add_argument("--report-only", action="store_true",
                    help="always exit 0")
    ap.add_argument("-k", metavar="REGEX",
                    help="only jobs whose path matches REGEX")
    ap.add_argument("--evidence", action="store_true",
                    help="print what each job's epoch metrics showed")
    ap.add_argument("--timeout", type=float, default=300.0,
                    help="seconds per job before it counts as a timeout")
    args = ap.parse_args()
    if not args.client and not args.flatlined:
        ap.print_usage(sys.stderr)
        print("run_suite: give the path to flatlined (or set FLATLINED), "
              "or --client FLATLINE --socket S", file=sys.stderr)
        return 2

    rows = read_manifest(args.manifest)
    if args.k:
        rows = [r for r in rows if re.search(args.k, r["path"])]
    base = os.path.dirname(os.path.abspath(args.manifest))
    width = max([len(r["path"]) for r in rows] + [3])
    ewidth = max([len(r["expect"]) for r in rows] + [24])
    print("%-*s  %-*s  %-24s  %-3s  %7s" % (width, "job", ewidth, "expected",
                                            "got", "ok", "seconds"))
    faulty = faulty_ok = healthy = alarms = bad = 0
    total = 0.0
    for r in rows:
        spec = os.path.join(base, r["path"])
        events, got, seconds, err = run_job(spec, args)
        total += seconds
        accepted = [x.strip() for x in r["expect"].split("|")]
        ok = got in accepted
        if r["expect"] == "none":
            healthy += 1
            alarms += got != "none"
        else:
            faulty += 1
            faulty_ok += ok
        bad += not ok
        print("%-*s  %-*s  %-24s  %-3s  %7.1f" % (
            width, r["path"], ewidth, r["expect"], got, "ok" if ok else "NO",
            seconds))
        if args.evidence:
            print("    " + evidence(events))
        if got.startswith("crash") or got == "timeout":
            tail = err.strip().splitlines()[-3:]
            for line in tail:
                print("    stderr: " + line)
        sys.stdout.flush()
    print("total: %.1f s" % total)
    print("suite: %d jobs, accuracy %d/%d on faulty jobs, false alarms %d/%d "
          "on healthy jobs" % (len(rows), faulty_ok, faulty, alarms, healthy))
    return 0 if args.report_only or bad == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
