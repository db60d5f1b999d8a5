#!/usr/bin/env python3
"""Score a diagnosis benchmark run: read run_eval.py's results.jsonl, print
the tables.

This file owns the scores: top-1 accuracy on faulty jobs (Wilson 95%
interval), false alarms on healthy jobs, the per-cause confusion table,
the confidence calibration table, probe cost, and the ambiguous count.

    report.py results.jsonl [more.jsonl ...]

Results are keyed by job name, a later line winning (a rerun replaces its
job); files where one name is two different jobs (a dense and a CNN set
whose seeds overlap) are refused with exit status 2.

Jobs marked "truth": "ambiguous" (run_eval.py --check-truth) are left
out of every score and counted separately. A healthy job whose answer
is a cause or "unexplained" is a false alarm; crashes and timeouts are
counted on their own line (and are never right). Plain Python 3.
"""
import json
import math
import signal
import sys
from collections import Counter, defaultdict


def wilson(k, n, z=1.96):
    if n == 0:
        return 0.0, 0.0
    p = k / n
    d = 1 + z * z / n
    c = (p + z * z / (2 * n)) / d
    h = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / d
    return max(0.0, c - h), min(1.0, c + h)


def same_job(a, b):
    """Two results of one generated job: the generators name jobs by seed
    alone, and gen_jobs.py and gen_conv.py draw their seeds separately, so
    job_23501 of a dense folder and of a CNN folder are different jobs."""
    keys = ("fault", "family", "variant", "magnitude")
    return all(a.get(k) == b.get(k) for k in keys) and a.get("seed") == b.get("seed")


class MixedSets(Exception):
    pass


def load(paths):
    rows, origin = {}, {}
    for path in paths:
        with open(path, encoding="utf-8") as f:
            for line in f:
                line = line.strip()
                if line:
                    r = json.loads(line)
                    old = rows.get(r["job"])
                    if old is not None and origin[r["job"]] != path and not same_job(old, r):
                        raise MixedSets(
                            "%s is one job in %s and another in %s (fault %s there, %s here): "
                            "the files come from sets whose seeds overlap (dense and CNN "
                            "folders); report them separately" % (
                                r["job"], origin[r["job"]], path, old.get("fault"),
                                r.get("fault")))
                    rows[r["job"]] = r          # a later line wins (a rerun)
                    origin[r["job"]] = path
    return list(rows.values())


def band_verdict(mean, share, lo, hi):
    """See the calibration table's comment in main()."""
    inside = mean - 0.1 <= lo and hi <= mean + 0.1
    apart = hi < mean - 0.1 or lo > mean + 0.1
    if abs(mean - share) <= 0.1:
        return "met" if inside else "met (estimate)"
    return "not met" if apart else "open (too few)"


def print_band(label, sel):
    right = sum(r["got"] == r["expect"] for r in sel)
    mean = sum(r["confidence"] for r in sel) / len(sel)
    share = right / len(sel)
    lo, hi = wilson(right, len(sel))
    print("  %-11s %5d %9.3f %7.1f%% %6.3f  [%.2f, %.2f]    %s" % (
        label, len(sel), mean, 100 * share, abs(mean - share), lo, hi,
        band_verdict(mean, share, lo, hi)))


def pct(k, n):
    return "%d/%d (%.1f%%)" % (k, n, 100.0 * k / n) if n else "0/0"


def main():
    # `report.py r.jsonl | head` ends quietly, as other command-line tools do.
    signal.signal(signal.SIGPIPE, signal.SIG_DFL)
    if len(sys.argv) < 2:
        print(__doc__, file=sys.stderr)
        return 2
    try:
        rows = load(sys.argv[1:])
    except MixedSets as e:
        print("report.py: %s" % e, file=sys.stderr)
        return 2
    ambiguous = [r for r in rows if r.get("truth") == "ambiguous"]
    scored = [r for r in rows if r.get("truth") != "ambiguous"]
    faulty = [r for r in scored if r["expect"] != "none"]
    healthy = [r for r in scored if r["expect"] == "none"]
    broken = [r for r in scored if r["source"] in ("crash", "timeout")]
    halves = Counter(r.get("half") for r in rows)

    print("jobs: %d (%s); scored %d, ambiguous %d, re-keyed %d; truth checked: %d" % (
        len(rows), ", ".join("%s %d" % kv for kv in sorted(halves.items())),
        len(scored), len(ambiguous), sum(1 for r in rows if r.get("truth") == "rekeyed"),
        sum(1 for r in rows if "truth" in r)))
    right = sum(r["got"] == r["expect"] for r in faulty)
    lo, hi = wilson(right, len(faulty))
    print("top-1 accuracy on faulty jobs: %s, Wilson 95%% [%.1f%%, %.1f%%]" % (
        pct(right, len(faulty)), 100 * lo, 100 * hi))
    alarms = [r for r in healthy if r["got"] != "none" and r["source"] not in ("crash", "timeout")]
    lo, hi = wilson(len(alarms), len(healthy))
    print("false alarms on healthy jobs: %s, Wilson 95%% [%.1f%%, %.1f%%]" % (
        pct(len(alarms), len(healthy)), 100 * lo, 100 * hi))
    if alarms:
        print("  " + ", ".join("%s->%s" % (r["job"], r["got"]) for r in alarms))
    print("crashes/timeouts: %d%s" % (len(broken), (" (" + ", ".join(
        "%s %s" % (r["job"], r["got"]) for r in broken) + ")") if broken else ""))

    # ---- confusion: expected -> got
    print("\nconfusion (expected -> got: count), scored jobs")
    by_expect = defaultdict(Counter)
    for r in scored:
        by_expect[r["expect"]][r["got"]] += 1
    width = max([len(e) for e in by_expect] + [8])
    for e in sorted(by_expect):
        c = by_expect[e]
        n = sum(c.values())
        ok = c.get(e, 0)
        rest = ", ".join("%s %d" % (g, k) for g, k in c.most_common() if g != e)
        print("  %-*s %2d/%-2d right%s" % (width, e, ok, n, ("  | " + rest) if rest else ""))

    # ---- calibration of the first cause's confidence
    print("\ncalibration (answers that carry a confidence)")
    # Each band's share right carries a Wilson 95% interval, checked
    # against the "off by <= 0.1" (the mean confidence +- 0.1):
    # "met", the interval inside it; "met (estimate)", the share inside it
    # but not the whole interval; "not met", the interval wholly outside
    # it; "open (too few)", the share outside it and the interval reaching
    # into it (a band of one or two answers).
    print("  %-11s %5s %9s %8s %6s  %-15s %s" % (
        "band", "count", "mean conf", "right", "|gap|", "95% interval", "verdict"))
    bands = [(0.5 + 0.1 * i, 0.6 + 0.1 * i) for i in range(5)]
    with_conf = [r for r in scored if isinstance(r.get("confidence"), (int, float))]
    for lo_b, hi_b in bands:
        last = hi_b > 0.95
        sel = [r for r in with_conf
               if r["confidence"] >= lo_b - 1e-9 and (r["confidence"] < hi_b - 1e-9 or
                                                      (last and r["confidence"] <= 1.0))]
        if not sel:
            print("  [%.1f,%.1f%s %5d" % (lo_b, hi_b, "]" if last else ")", 0))
            continue
        print_band("[%.1f,%.1f%s" % (lo_b, hi_b, "]" if last else ")"), sel)
    below = [r for r in with_conf if r["confidence"] < 0.5]
    if below:
        print_band("below 0.5", below)

    # DESIGN.md's form of the contract: of the answers with confidence >= c,
    # a share >= c is right, for every c the diagnosis reports.
    levels = sorted({round(r["confidence"], 3) for r in with_conf})
    if levels:
        print("  cumulative: " + "; ".join(
            ">= %.2f: %d, %.1f%% right%s" % (
                c, len(sel), 100 * share, "" if share >= c else " (below)")
            for c in levels
            for sel in [[r for r in with_conf if r["confidence"] >= c - 1e-9]]
            for share in [sum(r["got"] == r["expect"] for r in sel) / len(sel)]))

    # ---- probe cost
    print("\nprobe cost (probe_seconds from diagnosis/verdict events vs the job's wall time)")
    ran = [r for r in rows if r.get("seconds")]
    shares = sorted(((r["probe_seconds"] / r["seconds"], r) for r in ran if r["seconds"] > 0),
                    key=lambda t: t[0])
    if shares:
        vals = [s for s, _ in shares]
        mean = sum(vals) / len(vals)
        med = vals[len(vals) // 2]
        smax, rmax = shares[-1]
        print("  probe share per job: mean %.1f%%, median %.1f%%, max %.1f%% (%s, %.1f of %.1f s)"
              % (100 * mean, 100 * med, 100 * smax, rmax["job"], rmax["probe_seconds"],
                 rmax["seconds"]))
        total_p = sum(r["probe_seconds"] for r in ran)
        total_s = sum(r["seconds"] for r in ran)
        print("  total: %.1f s of probes in %.1f s of runs (%.1f%%)" % (
            total_p, total_s, 100 * total_p / total_s if total_s else 0))
        long_heavy = [r for r in ran if r["seconds"] > 60 and r["probe_seconds"] > 0.2 * r["seconds"]]
        short_heavy = [r for r in ran if r["seconds"] <= 60 and r["probe_seconds"] > 10]
        print("  jobs over a minute with probe share > 20%%: %d of %d" % (
            len(long_heavy), sum(1 for r in ran if r["seconds"] > 60)))
        print("  jobs up to a minute with probe time > 10 s: %d of %d%s" % (
            len(short_heavy), sum(1 for r in ran if r["seconds"] <= 60),
            (" (" + ", ".join(r["job"] for r in short_heavy[:10]) + ")") if short_heavy else ""))
        print("  wall time: total %.0f s, mean %.1f s, max %.1f s" % (
            total_s, total_s / len(ran), max(r["seconds"] for r in ran)))

    # ---- ambiguous
    print("\nambiguous (truth check failed; not scored): %d of %d checked" % (
        len(ambiguous), sum(1 for r in rows if "truth" in r)))
    amb = Counter(r["expect"] for r in ambiguous)
    for e, n in amb.most_common():
        print("  %-24s %d" % (e, n))
    return 0


if __name__ == "__main__":
    sys.exit(main())
