#!/usr/bin/env python3
"""Generate the data files of flatline's examples and labelled test suite.

Run from anywhere with Python 3 and NumPy (Debian: /usr/bin/python3 with
python3-numpy):

    python3 examples/gen_examples.py            # writes, then prints sizes
    python3 examples/gen_examples.py --check    # regenerate into a temp dir
                                                # and compare byte for byte

Everything is deterministic (fixed seeds; no time, no locale). Fashion-MNIST
is read from /usr/share/datasets/fashion-mnist (override with
FASHION_MNIST_DIR); only a small uint8 subset is written here, shared by
every job that needs it.

Outputs (all under examples/):

  seed/data/        the three cases of the "seed article": random features,
                    random labels (nothing to learn on purpose)
    x20.npy           float32 (1000, 20)  standard normal
    x100.npy          float32 (1000, 100) standard normal
    y.npy             int64   (1000,)     uniform class ids 0..9
    y_onehot.npy      float32 (1000, 10)  the same labels, one-hot
  article/data/     the article's six programs exactly as written
    p<name>_x.npy     float32 (100, 10 or 100) uniform in [0, 1)
    p<name>_y.npy     int64 (100,) class ids 0..2 (program 1), else float32
                      (100, 3) one-hot: random labels, as the article draws
  data/             shared data of examples/faulty and tests/suite
    fashion_x.npy         uint8 (4000, 784) Fashion-MNIST train rows, a fixed
                          random subset; validation_split 0.25 -> 3000 / 1000
    fashion_y.npy         int64 (4000,)   their class ids 0..9
    fashion_y_onehot.npy  float32 (4000, 10) the same, one-hot
    fashion_y_1based.npy  int64 (4000,)   the same ids + 1 (1..10): the
                          classic off-by-one export from a 1-based tool
    fashion_y_noisy10.npy int64 (4000,)   10% of the rows relabelled to a
                          different, random class (label noise)
    fashion_y_shuffled.npy int64 (4000,)  the ids permuted across rows: the
                          labels no longer belong to their images
    fashion14_x.npy       uint8 (2000, 196) Fashion-MNIST test rows, 2x2
                          average-pooled to 14x14, all 10 classes
    fashion14_y.npy       int64 (2000,)
    tops14_imbalanced_x.npy uint8 (2200, 196) upper-body garments only
                          (Shirt, T-shirt/top, Pullover, Coat -> ids 0..3),
                          14x14: 2048 Shirts and 48 / 52 / 52 of the others
                          (about 40:1), shuffled
    tops14_imbalanced_y.npy int64 (2200,)
    tops14_balanced_x.npy  uint8 (2200, 196) the same four classes, 550 each
    tops14_balanced_y.npy  int64 (2200,)
    penguins_raw.csv      synthetic penguin measurements in their units
                          (bill mm, flipper mm, body mass g), 3 species,
                          drawn from the published per-species means and
                          standard deviations of the Palmer penguins
    penguins_std.csv      the same rows, each feature standardized
    penguins_sorted.csv   penguins_std.csv sorted by species
    penguins_missing.csv  penguins_std.csv with a few "nan" cells (missing
                          measurements, as in the real data set)
    rings.csv             4 concentric noisy rings in 2-D (x, y, ring):
                          not linearly separable
"""
import argparse
import filecmp
import gzip
import os
import shutil
import struct
import sys
import tempfile

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
FASHION_DIR = os.environ.get("FASHION_MNIST_DIR",
                             "/usr/share/datasets/fashion-mnist")


def read_idx(path):
    with gzip.open(path, "rb") as f:
        data = f.read()
    magic, = struct.unpack(">I", data[:4])
    ndim = magic & 0xFF
    dims = struct.unpack(">" + "I" * ndim, data[4:4 + 4 * ndim])
    arr = np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * ndim)
    return arr.reshape(dims)


def save(path, arr):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    np.save(path, arr, allow_pickle=False)


def one_hot(y, k):
    out = np.zeros((len(y), k), dtype=np.float32)
    out[np.arange(len(y)), y] = 1.0
    return out


def write_csv(path, header, rows, fmt):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w", newline="\n") as f:
        f.write(",".join(header) + "\n")
        for r in rows:
            f.write(",".join(fmt[i] % v if not (isinstance(v, float) and
                                                np.isnan(v)) else "nan"
                             for i, v in enumerate(r)) + "\n")


def pool14(images):
    """(N, 28, 28) uint8 -> (N, 196) uint8, 2x2 average, rounded."""
    x = images.astype(np.float32).reshape(-1, 14, 2, 14, 2).mean(axis=(2, 4))
    return np.rint(x).astype(np.uint8).reshape(-1, 196)


def gen_seed(out):
    """The seed article: nothing in the labels can be learned from X."""
    rng = np.random.default_rng(20240501)
    x20 = rng.standard_normal((1000, 20)).astype(np.float32)
    x100 = rng.standard_normal((1000, 100)).astype(np.float32)
    y = rng.integers(0, 10, size=1000).astype(np.int64)
    d = os.path.join(out, "seed", "data")
    save(os.path.join(d, "x20.npy"), x20)
    save(os.path.join(d, "x100.npy"), x100)
    save(os.path.join(d, "y.npy"), y)
    save(os.path.join(d, "y_onehot.npy"), one_hot(y, 10))


# The article's six programs, each drawing its own data as it does:
# (program, features, labels as written).
ARTICLE = (("1", 10, "ids"), ("1_corrected", 10, "onehot"),
           ("2", 100, "onehot"), ("2_corrected", 100, "onehot"),
           ("3", 10, "onehot"), ("3_corrected", 10, "onehot"))


def gen_article(out):
    """The article exactly as written: np.random.rand(100, F) features,
    np.random.randint(0, 3, 100) labels (one-hot where the program calls
    to_categorical). Each program has its own draw; seeds are fixed (1 to
    6). A first choice of seeds (20250130 + i) drew, for program 1, labels
    that a permutation test finds predictive by chance (p = 0.002, a
    1-in-500 draw); an example of what people run should be a typical
    draw, so the seeds were replaced, and the test's p-values on these six
    (0.05 to 0.36) are what random labels give."""
    d = os.path.join(out, "article", "data")
    for i, (name, feats, labels) in enumerate(ARTICLE):
        rng = np.random.default_rng(1 + i)
        x = rng.random((100, feats)).astype(np.float32)
        y = rng.integers(0, 3, size=100).astype(np.int64)
        save(os.path.join(d, "p%s_x.npy" % name), x)
        save(os.path.join(d, "p%s_y.npy" % name),
             y if labels == "ids" else one_hot(y, 3))


def gen_fashion(out):
    d = os.path.join(out, "data")
    tr_x = read_idx(os.path.join(FASHION_DIR, "train-images-idx3-ubyte.gz"))
    tr_y = read_idx(os.path.join(FASHION_DIR, "train-labels-idx1-ubyte.gz"))
    te_x = read_idx(os.path.join(FASHION_DIR, "t10k-images-idx3-ubyte.gz"))
    te_y = read_idx(os.path.join(FASHION_DIR, "t10k-labels-idx1-ubyte.gz"))

    rng = np.random.default_rng(1234)
    idx = rng.permutation(len(tr_x))[:4000]
    x = tr_x[idx].reshape(4000, 784).copy()
    y = tr_y[idx].astype(np.int64)
    save(os.path.join(d, "fashion_x.npy"), x)
    save(os.path.join(d, "fashion_y.npy"), y)
    save(os.path.join(d, "fashion_y_onehot.npy"), one_hot(y, 10))
    save(os.path.join(d, "fashion_y_1based.npy"), y + 1)

    noisy = y.copy()
    flip = rng.random(4000) < 0.10
    shift = rng.integers(1, 10, size=4000)  # never the true class
    noisy[flip] = (y[flip] + shift[flip]) % 10
    save(os.path.join(d, "fashion_y_noisy10.npy"), noisy)

    save(os.path.join(d, "fashion_y_shuffled.npy"), rng.permutation(y))

    # 14x14 all-class set from the test split (disjoint from the above).
    idx = rng.permutation(len(te_x))[:2000]
    save(os.path.join(d, "fashion14_x.npy"), pool14(te_x[idx]))
    save(os.path.join(d, "fashion14_y.npy"), te_y[idx].astype(np.int64))

    # Upper-body garments: Shirt(6) T-shirt/top(0) Pullover(2) Coat(4).
    # Train rows not used by the 784-wide subset above.
    used = np.zeros(len(tr_x), dtype=bool)
    used[np.random.default_rng(1234).permutation(len(tr_x))[:4000]] = True
    classes = [6, 0, 2, 4]
    pools = [np.flatnonzero((tr_y == c) & ~used) for c in classes]

    def take(counts, seed):
        r = np.random.default_rng(seed)
        xs, ys = [], []
        for new_id, (p, n) in enumerate(zip(pools, counts)):
            pick = r.choice(p, size=n, replace=False)
            xs.append(tr_x[pick])
            ys.append(np.full(n, new_id, dtype=np.int64))
        xs = np.concatenate(xs)
        ys = np.concatenate(ys)
        order = r.permutation(len(ys))
        return pool14(xs[order]), ys[order]

    xi, yi = take([2048, 48, 52, 52], 77)
    save(os.path.join(d, "tops14_imbalanced_x.npy"), xi)
    save(os.path.join(d, "tops14_imbalanced_y.npy"), yi)
    xb, yb = take([550, 550, 550, 550], 78)
    save(os.path.join(d, "tops14_balanced_x.npy"), xb)
    save(os.path.join(d, "tops14_balanced_y.npy"), yb)


def gen_penguins(out):
    """Per-species (mean, sd) of bill length mm, bill depth mm, flipper
    length mm, body mass g: the Palmer penguins summary statistics."""
    species = [
        ("Adelie", 440, [(38.8, 2.66), (18.3, 1.22), (190.0, 6.54), (3701, 459)]),
        ("Chinstrap", 200, [(48.8, 3.34), (18.4, 1.14), (195.8, 7.13), (3733, 384)]),
        ("Gentoo", 360, [(47.5, 3.08), (15.0, 0.98), (217.2, 6.48), (5076, 504)]),
    ]
    rng = np.random.default_rng(4242)
    rows = []
    for sid, (_, n, stats) in enumerate(species):
        cols = [rng.normal(m, s, size=n) for m, s in stats]
        for i in range(n):
            rows.append([cols[0][i], cols[1][i], cols[2][i], cols[3][i], sid])
    rows = np.array(rows)
    rows = rows[rng.permutation(len(rows))]
    raw = rows.copy()
    raw[:, 0:3] = np.round(raw[:, 0:3], 1)
    raw[:, 3] = np.round(raw[:, 3] / 25.0) * 25.0  # scales weigh to 25 g
    header = ["bill_length_mm", "bill_depth_mm", "flipper_length_mm",
              "body_mass_g", "species"]
    d = os.path.join(out, "data")
    write_csv(os.path.join(d, "penguins_raw.csv"), header,
              [list(r[:4]) + [int(r[4])] for r in raw],
              ["%.1f", "%.1f", "%.1f", "%.0f", "%d"])
    feats = raw[:, :4]
    z = (feats - feats.mean(axis=0)) / feats.std(axis=0)
    std_rows = [list(map(float, z[i])) + [int(raw[i, 4])] for i in range(len(z))]
    fmt = ["%.4f"] * 4 + ["%d"]
    write_csv(os.path.join(d, "penguins_std.csv"), header, std_rows, fmt)
    # Missing measurements, as in the real data set: a few rows of the
    # training part (the first 80%) lack a value.
    miss = [list(r) for r in std_rows]
    for i, j in [(3, 0), (3, 1), (3, 2), (3, 3), (117, 3), (250, 1),
                 (402, 2), (611, 0)]:
        miss[i][j] = float("nan")
    write_csv(os.path.join(d, "penguins_missing.csv"), header, miss, fmt)
    # Sorted by species, as many exports are: Keras' validation_split takes
    # the last rows, here nearly all Gentoo, a class training never sees.
    by_species = sorted(std_rows, key=lambda r: r[4])
    write_csv(os.path.join(d, "penguins_sorted.csv"), header, by_species, fmt)


def gen_rings(out):
    rng = np.random.default_rng(99)
    n = 2000
    ring = rng.integers(0, 4, size=n)
    radius = 0.5 + 0.5 * ring + rng.normal(0, 0.08, size=n)
    angle = rng.uniform(0, 2 * np.pi, size=n)
    x = radius * np.cos(angle)
    y = radius * np.sin(angle)
    write_csv(os.path.join(out, "data", "rings.csv"), ["x", "y", "ring"],
              [[float(x[i]), float(y[i]), int(ring[i])] for i in range(n)],
              ["%.4f", "%.4f", "%d"])


def generate(out):
    gen_seed(out)
    gen_article(out)
    gen_fashion(out)
    gen_penguins(out)
    gen_rings(out)


def listing(root):
    files = []
    for sub in ("seed/data", "article/data", "data"):
        base = os.path.join(root, sub)
        for name in sorted(os.listdir(base)):
            files.append(os.path.join(sub, name))
    return files


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--check", action="store_true",
                    help="regenerate into a temporary folder and compare")
    args = ap.parse_args()
    if args.check:
        tmp = tempfile.mkdtemp(prefix="flatline-examples-")
        try:
            generate(tmp)
            bad = [f for f in listing(tmp)
                   if not os.path.exists(os.path.join(HERE, f)) or
                   not filecmp.cmp(os.path.join(tmp, f),
                                   os.path.join(HERE, f), shallow=False)]
        finally:
            shutil.rmtree(tmp)
        for f in bad:
            print("differs: examples/" + f)
        print("gen_examples: %s" % ("up to date" if not bad else
                                    "%d file(s) differ" % len(bad)))
        return 1 if bad else 0
    generate(HERE)
    total = 0
    for f in listing(HERE):
        size = os.path.getsize(os.path.join(HERE, f))
        total += size
        print("%9d  examples/%s" % (size, f))
    print("%9d  total" % total)
    return 0


if __name__ == "__main__":
    sys.exit(main())
