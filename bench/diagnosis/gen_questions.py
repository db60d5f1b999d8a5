#!/usr/bin/python3
"""Jobs shaped like the questions people ask about a stuck multiclass
loss, each with the answer a careful reader of the thread would give.

Not a held-out set: these were written, run and looked at while the
diagnosis was changed (two of them, the sorted validation split and Adam
at 0.1, led to changes), so they are development cases, like the even
seeds of gen_jobs.py. They cover shapes the generator does not draw:
one softmax unit for two classes, rows sorted by class before a
validation_split, raw tabular units (age, income, credit score), sigmoid
or ReLU outputs under categorical cross-entropy, Adam at 0.1, an 89/11
binary set that learns, fractional labels, 50 rows that learn.

    python3 bench/diagnosis/gen_questions.py --out /tmp/flq
    python3 bench/diagnosis/run_eval.py --jobs /tmp/flq --half all --out /tmp/q.jsonl
    python3 bench/diagnosis/report.py /tmp/q.jsonl

Fashion-MNIST rows (FASHION_MNIST_DIR, as gen_jobs.py) and NumPy.
"""
import argparse
import json
import os

import numpy as np

import gen_jobs


def dense(units, act="relu"):
    return {"type": "dense", "units": units, "activation": act}


def spec(layers, loss="sparse_categorical_crossentropy", opt=None, epochs=10, scale=1 / 255):
    train = {"features": "x.npy", "labels": "y.npy"}
    if scale is not None:
        train["scale"] = scale
    return {"data": {"train": train, "validation_split": 0.2},
            "model": {"layers": layers}, "loss": loss,
            "optimizer": opt or {"name": "adam", "learning_rate": 0.001},
            "epochs": epochs, "batch_size": 32}


def questions(rng):
    """(expect, note, spec, x, y) for each question."""
    x, y = gen_jobs.fashion()
    x = x.reshape(len(x), -1)
    idx = rng.permutation(len(y))[:5000]
    fx, fy = x[idx], y[idx]
    out = []
    two = fy < 2
    out.append(("labels_out_of_range", "two classes, Dense(1, softmax): the one unit is always 1",
                spec([dense(64), dense(1, "softmax")]), fx[two], fy[two]))
    order = np.argsort(fy, kind="stable")
    out.append(("invalid_data", "rows sorted by class, validation_split 0.2: the last two "
                "classes are never trained on", spec([dense(128), dense(10, "softmax")]),
                fx[order], fy[order]))
    n = 3000
    age, income = rng.uniform(18, 80, n), rng.lognormal(10.5, 0.6, n)
    score, tenure = rng.uniform(300, 850, n), rng.integers(0, 40, n)
    z = 0.04 * (age - 50) + 1.2 * (np.log(income) - 10.5) + 0.01 * (score - 575)
    ty = np.digitize(z + rng.normal(0, 0.3, n), [-0.5, 0.5]).astype(np.int64)
    tx = np.stack([age, income, score, tenure], 1).astype(np.float32)
    out.append(("unnormalized_inputs", "age, income, credit score in their units, Adam 1e-3",
                spec([dense(32), dense(3, "softmax")], epochs=30, scale=None), tx, ty))
    std = ((tx - tx.mean(0)) / tx.std(0)).astype(np.float32)
    out.append(("none", "the same table standardized",
                spec([dense(32), dense(3, "softmax")], epochs=30, scale=None), std, ty))
    onehot = np.eye(10, dtype=np.float32)[fy]
    out.append(("output_loss_mismatch", "sigmoid output under categorical cross-entropy",
                spec([dense(128), dense(10, "sigmoid")], loss="categorical_crossentropy"),
                fx, onehot))
    out.append(("invalid_data", "fractional labels (a regression target as classes)",
                spec([dense(64), dense(10, "softmax")]), fx,
                (fy + rng.random(len(fy))).astype(np.float32)))
    out.append(("labels_uninformative", "labels shuffled apart from their rows",
                spec([dense(128), dense(10, "softmax")]), fx, rng.permutation(fy)))
    out.append(("learning_rate_too_high", "Adam at 0.1 (ReLUs die, accuracy stays low)",
                spec([dense(128), dense(64), dense(10, "softmax")],
                     opt={"name": "adam", "learning_rate": 0.1}), fx, fy))
    out.append(("output_loss_mismatch", "ReLU output under cross-entropy",
                spec([dense(128), dense(10, "relu")]), fx, fy))
    keep = np.concatenate([np.where(fy == 0)[0], np.where(fy == 6)[0][:60]])
    rng.shuffle(keep)
    out.append(("none", "89/11 binary (T-shirts and 60 shirts), Adam, that learns",
                spec([dense(32), dense(2, "softmax")], epochs=30), fx[keep],
                (fy[keep] == 6).astype(np.int64)))
    out.append(("vanishing_gradient", "8 sigmoid layers, SGD 0.01",
                spec([dense(64, "sigmoid")] * 8 + [dense(10, "softmax")],
                     opt={"name": "sgd", "learning_rate": 0.01}), fx, fy))
    three = np.isin(fy, [0, 1, 7])
    out.append(("none", "50 rows of three classes that learn",
                spec([dense(32), dense(3, "softmax")], epochs=50), fx[three][:50],
                np.searchsorted([0, 1, 7], fy[three][:50]).astype(np.int64)))
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", required=True, metavar="DIR")
    ap.add_argument("--seed", type=int, default=5)
    a = ap.parse_args()
    for i, (expect, note, s, x, y) in enumerate(questions(np.random.default_rng(a.seed))):
        seed = 2001 + i
        d = os.path.join(a.out, "job_%d" % seed)
        os.makedirs(d, exist_ok=True)
        np.save(os.path.join(d, "x.npy"), x)
        np.save(os.path.join(d, "y.npy"), y)
        s["name"], s["seed"] = "q%d-%s" % (seed, expect), seed
        ids = y.argmax(1) if y.ndim == 2 else y.astype(np.int64)
        truth = {"expect": expect, "fault": None if expect == "none" else expect,
                 "note": note, "family": "question", "seed": seed, "half": "questions",
                 "chance": round(float(np.bincount(ids).max()) / len(ids), 3),
                 "k": s["model"]["layers"][-1]["units"]}
        for name, obj in (("spec.json", s), ("truth.json", truth)):
            with open(os.path.join(d, name), "w") as f:
                json.dump(obj, f, indent=1)
                f.write("\n")
        print("job_%d %-24s %s" % (seed, expect, note))


if __name__ == "__main__":
    main()
