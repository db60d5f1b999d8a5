#!/usr/bin/env python3
"""Run the diagnosis benchmark's jobs through flatlined and record answers.

This file owns running jobs, reading a job's answer off its events, and
the truth check (--check-truth) that marks a faulty job "ambiguous" when
its fault did not measurably hurt training.

    run_eval.py --jobs DIR [--flatlined build/flatlined] [--half dev|test|all]
                [--limit N] [--timeout S] [--check-truth] [--resume]
                [--only REGEX] [--out results.jsonl]

Each job runs as `FLATLINED --run DIR/job_i/spec.json --json` (one JSON
event per line; the last is `end`). The job's answer:

  1. a `verdict` event: "problem" -> its first cause, "healthy" -> "none",
     "unexplained" -> "unexplained";
  2. else the rule of tests/suite/run_suite.py: the first cause of the
     first `diagnosis` event with causes, else the first `error` finding
     of a `preflight` event, else the cause of a rejected/failed `end`
     (else of any `end` that has one), else "none";
  3. no `end` event: "crash(rc=N)"; killed at --timeout: "timeout".

The confidence of that first cause is kept (null when the source has
none). One JSON object per job is appended to --out as soon as the job
ends; --resume skips the jobs already there (otherwise --out is
truncated first). Progress goes to stderr.

--check-truth also runs the job's twin.json (the same job without the
fault) and checks that the fault is real, by the check named in
truth.json (see README.md); a job that fails its check gets
"truth": "ambiguous" and a reason, and report.py leaves it out of the
scores. An optimizer_choice job whose SGD learns at 10x or 100x its rate
(ladder_x10.json, ladder_x100.json) is a rate too low by DESIGN.md's
definitions: it gets "truth": "rekeyed" and is scored as
learning_rate_too_low. A capacity job whose narrow model learns at 10x or
100x its rate (rate_x10.json, rate_x100.json) as well as its wide twin
does is ambiguous: the rate is as small a change as the width. Plain
Python 3 (no packages).
"""
import argparse
import json
import math
import os
import re
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(REPO, "tests", "suite"))
from run_suite import parse_events  # noqa: E402  (one reader of event lines)


# ---------------------------------------------------------------- running


def run_spec(flatlined, spec, timeout):
    """-> (events, rc or None on timeout, seconds, stderr tail)"""
    t0 = time.monotonic()
    try:
        p = subprocess.run([flatlined, "--run", spec, "--json"],
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                           timeout=timeout)
        out, err, rc = p.stdout, p.stderr, p.returncode
    except subprocess.TimeoutExpired as e:
        out, err, rc = e.stdout or b"", e.stderr or b"", None
    seconds = time.monotonic() - t0
    err = err.decode("utf-8", "replace").strip().splitlines()[-3:]
    return parse_events(out.decode("utf-8", "replace")), rc, seconds, err


def first_cause(causes):
    c = causes[0]
    if isinstance(c, dict):
        return c.get("cause"), num(c.get("confidence"))
    return str(c), None


def num(v):
    return v if isinstance(v, (int, float)) and not isinstance(v, bool) else None


def answer(events, rc):
    """-> (answer, confidence, source)"""
    if rc is None:
        return "timeout", None, "timeout"
    for e in events:
        if e.get("event") == "verdict":
            v = e.get("verdict")
            causes = e.get("causes") or []
            if v == "problem" and causes:
                cause, conf = first_cause(causes)
                return cause, conf, "verdict"
            if v == "healthy":
                return "none", None, "verdict"
            if v == "unexplained":
                return "unexplained", None, "verdict"
            return str(v), None, "verdict"
    for e in events:
        if e.get("event") == "diagnosis" and e.get("causes"):
            cause, conf = first_cause(e["causes"])
            return cause, conf, "diagnosis"
    for e in events:
        if e.get("event") == "preflight":
            for f in e.get("findings") or []:
                if isinstance(f, dict) and f.get("severity") == "error":
                    return f.get("cause") or "preflight_error", None, "preflight"
    ends = [e for e in events if e.get("event") == "end"]
    if not ends:
        return "crash(rc=%s)" % rc, None, "crash"
    for e in ends:
        if e.get("state") in ("rejected", "failed"):
            return e.get("cause") or e.get("state"), None, "end"
    for e in ends:
        if e.get("cause"):
            return e.get("cause"), None, "end"
    return "none", None, "none"


def probe_seconds(events):
    """Probe time of a run, from the probe_seconds of its `diagnosis` and
    `verdict` events. The current build reports a running total (each
    event repeats the time so far), so a non-decreasing sequence counts
    as cumulative: its largest value. A sequence that ever goes down is
    per-event figures: their sum."""
    vals = [e["probe_seconds"] for e in events
            if e.get("event") in ("diagnosis", "verdict")
            and num(e.get("probe_seconds")) is not None]
    if not vals:
        return 0.0
    if all(b >= a for a, b in zip(vals, vals[1:])):
        return max(vals)
    return sum(vals)


def finite(v):
    return isinstance(v, (int, float)) and math.isfinite(v)


def summarize(events):
    """What the epochs showed: enough for the truth check and for people."""
    ep = [e for e in events if e.get("event") == "epoch"]
    ends = [e for e in events if e.get("event") == "end"]
    s = {"epochs_run": len(ep), "end_state": ends[-1].get("state") if ends else None,
         "nonfinite": any(e.get("nonfinite") or not finite(e.get("loss")) for e in ep)}
    if not ep:
        return s
    s["loss_first"] = ep[0].get("loss")
    s["loss_last"] = ep[-1].get("loss")
    s["first_batch_loss"] = ep[0].get("first_batch_loss")
    acc = [e.get("accuracy") for e in ep if finite(e.get("accuracy"))]
    vacc = [e.get("val_accuracy") for e in ep if finite(e.get("val_accuracy"))]
    s["acc_best"] = max(acc) if acc else None
    s["val_acc_best"] = max(vacc) if vacc else None
    s["held_out"] = "val" if vacc else "train"
    s["quality"] = s["val_acc_best"] if vacc else s["acc_best"]
    # The best epoch is a maximum over noisy epochs (a few dozen held-out
    # rows swing by 0.1 and more); where the job ended is the mean of its
    # last three epochs.
    tail = (vacc if vacc else acc)[-3:]
    s["quality_last"] = sum(tail) / len(tail) if tail else None
    vl = [e.get("val_loss") for e in ep]
    if vl and all(finite(v) for v in vl):
        best = min(range(len(vl)), key=lambda j: vl[j])
        s["val_loss_best_epoch"] = best + 1
        s["val_loss_best"] = vl[best]
        s["val_loss_last"] = vl[-1]
        s["train_loss_at_best"] = ep[best].get("loss")
    hist = ep[-1].get("pred_hist") or []
    if hist and sum(hist):
        s["top_pred_share"] = max(hist) / float(sum(hist))
    s["dead_max"] = max([v for e in ep for v in (e.get("dead_fraction") or [])
                         if finite(v)] or [0.0])
    s["saturated_max"] = max([v for e in ep for v in (e.get("saturated_fraction") or [])
                              if finite(v)] or [0.0])
    return s


# ------------------------------------------------------------ truth check


def learns(s, chance, margin=0.1):
    q = s.get("quality")
    return q is not None and not s.get("nonfinite") and q - chance >= margin


def twin_better(fs, ts, chance_t, k):
    """None when the twin trains clearly better than the faulty job, else
    the reason it does not. Better: a held-out accuracy gap of at least
    max(0.05, a quarter of what the twin gains over chance), or a faulty
    training loss that ends above both ln K (worse than a uniform guess)
    and 3x the twin's, where the twin's ends below ln K."""
    if not learns(ts, chance_t):
        return "twin does not learn either (quality %s, chance %.2f)" % (
            fmt(ts.get("quality")), chance_t)
    qt = ts["quality"]
    qf = fs.get("quality")
    if qf is None or fs.get("nonfinite"):
        return None
    gap = qt - qf
    need = max(0.05, 0.25 * (qt - chance_t))
    lnk = math.log(max(k, 2))
    lf, lt = fs.get("loss_last"), ts.get("loss_last")
    if finite(lf) and finite(lt) and lf > max(lnk, 3 * lt) and lt < lnk:
        return None
    if gap < need:
        return "fault did not hurt: quality %.3f vs twin %.3f (need a gap of %.3f)" % (
            qf, qt, need)
    return None


def overfits(fs):
    """None when the run overfits: validation loss ends >= 1.2x its
    minimum, reached in the first 60% of the epochs; else the reason."""
    if "val_loss_best" not in fs:
        return "no finite validation loss"
    best, last = fs["val_loss_best"], fs["val_loss_last"]
    if last < 1.2 * best:
        return "validation loss did not rise: best %.3f, last %.3f" % (best, last)
    if fs["val_loss_best_epoch"] > 0.6 * fs["epochs_run"]:
        return "best validation epoch %d of %d is late" % (
            fs["val_loss_best_epoch"], fs["epochs_run"])
    return None


def check_truth(truth, fs, ts):
    """-> None (the fault is real / the healthy job learns) or a reason."""
    check = truth.get("check")
    chance = truth.get("chance", 0.0)
    chance_t = truth.get("twin_chance", chance)
    if check == "learns":
        if fs.get("nonfinite"):
            return "healthy job went non-finite"
        if not learns(fs, chance, 0.05):
            return "healthy job does not learn (quality %s, chance %.2f)" % (
                fmt(fs.get("quality")), chance)
        # A loss that ends above its first epoch's did not learn, whatever
        # accuracy it passed through (dev job 13230: tanh layers at 96%
        # saturation, loss 1.79 -> 2.12, accuracy 0.51 at best and 0.37 at
        # the end; test job 12371, 0.85 -> 1.21).
        lf, ll = fs.get("loss_first"), fs.get("loss_last")
        if finite(lf) and finite(ll) and ll > lf:
            return "healthy job's training loss rose (first epoch %.3f, last %.3f)" % (lf, ll)
        ql = fs.get("quality_last")
        if ql is not None and ql - chance < 0.05:
            return "healthy job ends at chance (last epochs %s, best %s, chance %.2f)" % (
                fmt(ql), fmt(fs.get("quality")), chance)
        if overfits(fs) is None:
            return "healthy job overfits (validation loss %.3f at epoch %d -> %.3f)" % (
                fs["val_loss_best"], fs["val_loss_best_epoch"], fs["val_loss_last"])
        return None
    if check == "rejected":
        if fs.get("end_state") != "rejected":
            return "preflight fault not rejected (end %s)" % fs.get("end_state")
        if ts is not None and ts.get("end_state") == "rejected":
            return "twin rejected too"
        return None
    if check == "overfit":
        # The fix is fewer epochs: it repairs only a job whose held-out
        # accuracy was above chance at some epoch (by the margin a healthy
        # job must clear). Noisy labels on a few hundred rows can leave
        # nothing to stop early at: then the held-out rows cannot tell the
        # job from one whose labels carry no information, and the job is
        # ambiguous rather than an overfitting job (sixth session; before,
        # such jobs were scored and counted as misses or hits alike).
        if not learns(fs, chance, 0.05):
            return "overfits, but held-out accuracy never rose above chance (best %s, " \
                "chance %.2f): fewer epochs repair nothing" % (fmt(fs.get("quality")), chance)
        return overfits(fs)
    if ts is None:
        return "twin not run"
    if check == "nan":
        if not fs.get("nonfinite"):
            return "loss stayed finite"
        if not learns(ts, chance_t):
            return "twin does not learn either"
        return None
    if check == "twin_better_finite" and fs.get("nonfinite"):
        return "loss became NaN/Inf (numerical_instability, not this fault)"
    if check == "collapse":
        # Collapsed: no better than a quarter of the way from always
        # answering the majority class to a perfect score.
        q = fs.get("quality")
        if q is None or q - chance > 0.25 * (1 - chance):
            return "no collapse: quality %s, majority share %.3f" % (fmt(q), chance)
        if not learns(ts, chance_t):
            return "balanced twin does not learn either"
        return None
    if check == "dead" and fs.get("dead_max", 0) < 0.9:
        return "no layer >= 90%% dead (max %.2f)" % fs.get("dead_max", 0)
    if check == "saturated" and fs.get("saturated_max", 0) < 0.9:
        return "no layer >= 90%% saturated (max %.2f)" % fs.get("saturated_max", 0)
    return twin_better(fs, ts, chance_t, truth.get("k", 2))


def fmt(v):
    return "-" if v is None else ("%.3g" % v if isinstance(v, float) else str(v))


# ------------------------------------------------------------------- main


def job_dirs(root, half, only):
    out = []
    for name in os.listdir(root):
        m = re.fullmatch(r"job_(\d+)", name)
        if not m or not os.path.isfile(os.path.join(root, name, "spec.json")):
            continue
        seed = int(m.group(1))
        if half == "dev" and seed % 2:
            continue
        if half == "test" and not seed % 2:
            continue
        if only and not re.search(only, name + " " + read_json(
                os.path.join(root, name, "truth.json")).get("expect", "")):
            continue
        out.append((seed, os.path.join(root, name)))
    return [d for _, d in sorted(out)]


def read_json(path):
    with open(path, encoding="utf-8") as f:
        return json.load(f)


def done_jobs(path):
    seen = set()
    if os.path.exists(path):
        with open(path, encoding="utf-8") as f:
            for line in f:
                try:
                    seen.add(json.loads(line)["job"])
                except (ValueError, KeyError):
                    pass
    return seen


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--jobs", required=True, metavar="DIR")
    ap.add_argument("--flatlined", default=os.environ.get(
        "FLATLINED", os.path.join(REPO, "build", "flatlined")))
    ap.add_argument("--half", choices=("dev", "test", "all"), default="all",
                    help="dev = even seeds, test = odd seeds")
    ap.add_argument("--limit", type=int, help="at most N jobs (after --half)")
    ap.add_argument("--only", metavar="REGEX",
                    help="only jobs whose 'job_<i> <expect>' matches")
    ap.add_argument("--timeout", type=float, default=300.0, help="seconds per run")
    ap.add_argument("--check-truth", action="store_true",
                    help="also run twin.json and mark unconvincing faults ambiguous")
    ap.add_argument("--out", default="results.jsonl")
    ap.add_argument("--resume", action="store_true",
                    help="append, skipping jobs already in --out")
    args = ap.parse_args()

    if not os.access(args.flatlined, os.X_OK):
        raise SystemExit("run_eval: no executable flatlined at %s" % args.flatlined)
    dirs = job_dirs(args.jobs, args.half, args.only)
    if args.limit is not None:
        dirs = dirs[:args.limit]
    skip = done_jobs(args.out) if args.resume else set()
    if not args.resume:
        open(args.out, "w").close()
    todo = [d for d in dirs if os.path.basename(d) not in skip]
    t_all = time.monotonic()
    for n, d in enumerate(todo, 1):
        name = os.path.basename(d)
        truth = read_json(os.path.join(d, "truth.json"))
        events, rc, seconds, err = run_spec(args.flatlined, os.path.join(d, "spec.json"),
                                            args.timeout)
        got, conf, source = answer(events, rc)
        fs = summarize(events)
        rec = {"job": name, "seed": truth.get("seed"), "half": truth.get("half"),
               "expect": truth["expect"], "family": truth.get("family"),
               "fault": truth.get("fault"), "variant": truth.get("variant"),
               "magnitude": truth.get("magnitude"), "got": got, "confidence": conf,
               "source": source, "rc": rc, "seconds": round(seconds, 3),
               "probe_seconds": round(probe_seconds(events), 3),
               "summary": fs, "stderr": err if source in ("crash", "timeout") else []}
        verdicts = [e for e in events if e.get("event") == "verdict"]
        if verdicts:
            rec["verdict"] = verdicts[-1].get("verdict")
            rec["tried"] = verdicts[-1].get("tried")
        # The first cause's evidence (probe figures, paired interval).
        for e in verdicts[-1:] + [e for e in events if e.get("event") == "diagnosis"]:
            c = (e.get("causes") or [None])[0]
            if isinstance(c, dict) and c.get("evidence"):
                rec["evidence"] = c["evidence"]
                break
        if args.check_truth:
            ts = None
            twin = os.path.join(d, "twin.json")
            if os.path.isfile(twin) and truth.get("check") not in ("overfit",):
                tev, trc, tsec, _ = run_spec(args.flatlined, twin, args.timeout)
                ts = summarize(tev)
                ts["seconds"] = round(tsec, 3)
                rec["twin"] = ts
            reason = check_truth(truth, fs, ts)
            rekey = None
            chance, k = truth.get("chance", 0.0), truth.get("k", 2)
            chance_t = truth.get("twin_chance", chance)

            def rung(file):
                """The summary of the job's rung file `file`, run; None
                when the job has none."""
                path = os.path.join(d, file)
                if not os.path.isfile(path):
                    return None
                return summarize(run_spec(args.flatlined, path, args.timeout)[0])

            for rung_file in ("ladder_x10.json", "ladder_x100.json"):
                ls = None if reason or rekey else rung(rung_file)
                if ls is not None and twin_better(fs, ls, chance, k) is None:
                    rekey = ("SGD at %s learns: the smallest change is the rate, not the "
                             "optimizer (DESIGN.md section 4)" % rung_file[7:-5])
            for rung_file in ("rate_x10.json", "rate_x100.json"):
                rs = None if reason or rekey or ts is None else rung(rung_file)
                if (rs is not None and twin_better(fs, rs, chance, k) is None and
                        twin_better(rs, ts, chance_t, k) is not None):
                    reason = ("the same narrow model at %s the rate reaches %s, the wide twin %s: "
                              "the rate is as small a change as the width" % (
                                  rung_file[5:-5], fmt(rs.get("quality")), fmt(ts.get("quality"))))
            if rekey:
                # The job is not optimizer_choice by the contract's own
                # definition (no rate of SGD learns), and it is a rate too
                # low by the same test that keys learning_rate_too_low
                # jobs: the twin with only the rate changed learns clearly
                # better. Scored under that key (before the twenty-first
                # session such jobs were left out as ambiguous, which left
                # the right answers to them out of the calibration table).
                rec["expect"] = "learning_rate_too_low"
                rec["truth"] = "rekeyed"
                rec["truth_reason"] = rekey
            else:
                rec["truth"] = "ambiguous" if reason else "ok"
                if reason:
                    rec["truth_reason"] = reason
        with open(args.out, "a", encoding="utf-8") as f:
            f.write(json.dumps(rec) + "\n")
        ok = "ok" if got == rec["expect"] else "NO"
        extra = ""
        if rec.get("truth") in ("ambiguous", "rekeyed"):
            extra = "  [%s: %s]" % (rec["truth"], rec["truth_reason"])
        print("[%d/%d] %-8s %-24s got %-24s %4s %-2s %6.1fs%s" % (
            n, len(todo), name, rec["expect"], got,
            "%.2f" % conf if conf is not None else "-", ok, seconds, extra),
            file=sys.stderr, flush=True)
    print("run_eval: %d jobs in %.0f s -> %s" % (len(todo), time.monotonic() - t_all,
                                                 args.out), file=sys.stderr)


if __name__ == "__main__":
    main()
