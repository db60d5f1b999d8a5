#!/usr/bin/python3
"""Jobs over a minute, for the probe-cost target (issue 10: probe time
<= 20% of the job's time for jobs that run longer than a minute).

The generated benchmark (gen_jobs.py) holds jobs of 0.1-17 s, so it says
nothing about long jobs. These are Fashion-MNIST jobs of 40,000 rows
(validation_split 0.2), 784-256-128-10 ReLU, batch 64, 100 epochs: one to
two minutes each on a 2-core CPU with POCL (a job that goes NaN or stops
early is shorter). Five kinds, each seeded from its index alone:

    healthy (Adam 1e-4, dropout 0.3, early_stopping on val_loss with
             patience 10: expect none)
    learning_rate_too_low (SGD 1e-6)
    learning_rate_too_high (Adam 1.0)
    labels_uninformative (labels permuted across rows)
    unnormalized_inputs (pixels 0..255 unscaled, SGD 0.01)

    python3 bench/diagnosis/gen_long.py --out /tmp/fllong
    python3 bench/diagnosis/run_eval.py --jobs /tmp/fllong --half all --out /tmp/long.jsonl
    python3 bench/diagnosis/report.py /tmp/long.jsonl

The folders follow gen_jobs.py's layout (spec.json, x.npy, y.npy,
truth.json; no twin, so no truth check), with seeds 1001.. so that
run_eval.py's --half all takes them.
"""
import argparse
import json
import os

import numpy as np

import gen_jobs

ROWS = 40000
EPOCHS = 100
KINDS = (
    ("none", {"name": "adam", "learning_rate": 0.0001}, 1 / 255, False),
    ("learning_rate_too_low", {"name": "sgd", "learning_rate": 1e-6}, 1 / 255, False),
    ("learning_rate_too_high", {"name": "adam", "learning_rate": 1.0}, 1 / 255, False),
    ("labels_uninformative", {"name": "adam", "learning_rate": 0.001}, 1 / 255, True),
    ("unnormalized_inputs", {"name": "sgd", "learning_rate": 0.01}, None, False),
)


def write(out, seed, expect, optimizer, scale, permute):
    rng = np.random.default_rng(seed)
    x, y = gen_jobs.fashion()
    idx = rng.permutation(len(y))[:ROWS]
    x, y = x[idx].reshape(ROWS, -1), y[idx]
    if permute:
        y = rng.permutation(y)
    d = os.path.join(out, "job_%d" % seed)
    os.makedirs(d, exist_ok=True)
    np.save(os.path.join(d, "x.npy"), x)
    np.save(os.path.join(d, "y.npy"), y)
    train = {"features": "x.npy", "labels": "y.npy"}
    if scale is not None:
        train["scale"] = scale
    spec = {
        "name": "long%d-%s" % (seed, expect),
        "data": {"train": train, "validation_split": 0.2},
        "model": {"layers": [
            {"type": "dense", "units": 256, "activation": "relu"},
            {"type": "dense", "units": 128, "activation": "relu"},
            {"type": "dense", "units": 10, "activation": "softmax"}]},
        "loss": "sparse_categorical_crossentropy",
        "optimizer": optimizer,
        "epochs": EPOCHS,
        "batch_size": 64,
        "seed": seed,
    }
    if expect == "none":
        spec["model"]["layers"].insert(1, {"type": "dropout", "rate": 0.3})
        spec["callbacks"] = [{"type": "early_stopping", "monitor": "val_loss",
                              "patience": 10, "restore_best_weights": True}]
    truth = {"expect": expect, "fault": None if expect == "none" else expect,
             "family": "fashion", "seed": seed, "half": "long",
             "chance": round(float(np.bincount(y).max()) / len(y), 3), "k": 10}
    for name, obj in (("spec.json", spec), ("truth.json", truth)):
        with open(os.path.join(d, name), "w") as f:
            json.dump(obj, f, indent=1)
            f.write("\n")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", required=True, metavar="DIR")
    ap.add_argument("--repeat", type=int, default=1,
                    help="jobs per kind (different seeds; default 1)")
    a = ap.parse_args()
    seed = 1001
    for _ in range(a.repeat):
        for expect, opt, scale, permute in KINDS:
            write(a.out, seed, expect, opt, scale, permute)
            print("job_%d %s" % (seed, expect))
            seed += 1


if __name__ == "__main__":
    main()
