#!/usr/bin/python3
"""Keras-equivalent accuracy: the same dense classifier trained by flatline
and by PyTorch (set up as Keras would), test accuracy compared over seeds.

Model (issue 12's check): Fashion-MNIST, 784-512 (ReLU, dropout 0.2)-256
(ReLU)-10 (softmax), Adam(1e-3, eps 1e-7), sparse categorical
cross-entropy, batch 32 (Keras' default), 10 epochs, Glorot-uniform kernels
and zero biases (Keras' defaults), inputs scaled by 1/255, the 10k test set
as validation data. Each side runs SEEDS seeds; the figure is the mean
test accuracy of the last epoch, and the check is |flatline - PyTorch| <=
0.005 (the issue's tolerance).

    /usr/bin/python3 bench/keras_equiv.py [--flatlined build/flatlined]
        [--seeds 3] [--first-seed 1] [--epochs 10] [--batch 32]

Prints one line per run and a summary; exit status 0 when within the
tolerance, 1 otherwise. A benchmark, not a test: minutes on a CPU.
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile

DATA = "/usr/share/datasets/fashion-mnist"
TOLERANCE = 0.005


def spec(seed, epochs, batch):
    scale = 1.0 / 255.0
    return {
        "name": "keras-equiv-%d" % seed,
        "data": {
            "train": {"idx_images": DATA + "/train-images-idx3-ubyte.gz",
                      "idx_labels": DATA + "/train-labels-idx1-ubyte.gz", "scale": scale},
            "validation": {"idx_images": DATA + "/t10k-images-idx3-ubyte.gz",
                           "idx_labels": DATA + "/t10k-labels-idx1-ubyte.gz", "scale": scale},
        },
        "model": {"layers": [
            {"type": "dense", "units": 512, "activation": "relu"},
            {"type": "dropout", "rate": 0.2},
            {"type": "dense", "units": 256, "activation": "relu"},
            {"type": "dense", "units": 10, "activation": "softmax"},
        ]},
        "loss": "sparse_categorical_crossentropy",
        "optimizer": {"name": "adam", "learning_rate": 0.001},
        "epochs": epochs,
        "batch_size": batch,
        "seed": seed,
    }


def run_flatline(flatlined, seed, epochs, batch):
    with tempfile.TemporaryDirectory() as d:
        path = os.path.join(d, "job.json")
        with open(path, "w") as f:
            json.dump(spec(seed, epochs, batch), f)
        out = subprocess.run([flatlined, "--run", path, "--json"], capture_output=True,
                             text=True, check=False).stdout
    acc = None
    for line in out.splitlines():
        try:
            e = json.loads(line)
        except ValueError:
            continue
        if e.get("event") == "epoch" and e.get("val_accuracy") is not None:
            acc = e["val_accuracy"]
    if acc is None:
        sys.exit("flatlined --run gave no validation accuracy:\n" + out[-2000:])
    return acc


def run_torch(seed, epochs, batch):
    import gzip
    import numpy as np
    import torch

    def idx(name, header):
        with gzip.open(os.path.join(DATA, name)) as f:
            return np.frombuffer(f.read(), dtype=np.uint8, offset=header)

    xtr = torch.tensor(idx("train-images-idx3-ubyte.gz", 16).reshape(-1, 784), dtype=torch.float32) / 255
    ytr = torch.tensor(idx("train-labels-idx1-ubyte.gz", 8), dtype=torch.long)
    xte = torch.tensor(idx("t10k-images-idx3-ubyte.gz", 16).reshape(-1, 784), dtype=torch.float32) / 255
    yte = torch.tensor(idx("t10k-labels-idx1-ubyte.gz", 8), dtype=torch.long)
    torch.manual_seed(seed)
    layers = []
    for i, (a, b) in enumerate([(784, 512), (512, 256), (256, 10)]):
        lin = torch.nn.Linear(a, b)
        torch.nn.init.xavier_uniform_(lin.weight)  # Keras: glorot_uniform
        torch.nn.init.zeros_(lin.bias)
        layers.append(lin)
        if i < 2:
            layers.append(torch.nn.ReLU())
        if i == 0:
            layers.append(torch.nn.Dropout(0.2))
    model = torch.nn.Sequential(*layers)
    opt = torch.optim.Adam(model.parameters(), lr=1e-3, eps=1e-7)
    loss_fn = torch.nn.CrossEntropyLoss()
    gen = torch.Generator().manual_seed(seed)
    for _ in range(epochs):
        model.train()
        perm = torch.randperm(len(xtr), generator=gen)
        for s in range(0, len(xtr), batch):
            i = perm[s:s + batch]
            opt.zero_grad()
            loss_fn(model(xtr[i]), ytr[i]).backward()
            opt.step()
    model.eval()
    with torch.no_grad():
        return (model(xte).argmax(1) == yte).float().mean().item()


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--flatlined", default="build/flatlined")
    ap.add_argument("--seeds", type=int, default=3)
    ap.add_argument("--first-seed", type=int, default=1,
                    help="seeds FIRST..FIRST+SEEDS-1 (to add seeds to an earlier run)")
    ap.add_argument("--epochs", type=int, default=10)
    ap.add_argument("--batch", type=int, default=32)
    a = ap.parse_args()
    fl, pt = [], []
    for seed in range(a.first_seed, a.first_seed + a.seeds):
        fl.append(run_flatline(a.flatlined, seed, a.epochs, a.batch))
        print("flatline seed %d: test accuracy %.4f" % (seed, fl[-1]), flush=True)
        pt.append(run_torch(seed, a.epochs, a.batch))
        print("pytorch  seed %d: test accuracy %.4f" % (seed, pt[-1]), flush=True)
    mf, mp = sum(fl) / len(fl), sum(pt) / len(pt)
    ok = abs(mf - mp) <= TOLERANCE
    print("mean over %d seeds: flatline %.4f, PyTorch %.4f, difference %+.4f (%s: tolerance %.3f)"
          % (a.seeds, mf, mp, mf - mp, "within" if ok else "OUTSIDE", TOLERANCE))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
