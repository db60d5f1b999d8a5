#!/usr/bin/python3
"""Generate convolutional diagnosis jobs: the CNN half of the benchmark.

gen_jobs.py draws dense networks only; issue 13 asks that the detectors
and probes work on conv layers too (dead ReLU filters, vanishing gradients
in a deep conv stack, learning rate, initialization). This file owns the
CNN job distribution: image families, random conv architectures, the
healthy variants and the faults that apply to them, with gen_jobs.py's
layout (spec.json, *.npy, truth.json, twin.json) and truth checks.

    python3 bench/diagnosis/gen_conv.py --seed-range 20000:20160 --out /tmp/flconv
    python3 bench/diagnosis/run_eval.py --jobs /tmp/flconv --half dev --check-truth \\
        --out /tmp/conv_dev.jsonl
    python3 bench/diagnosis/report.py /tmp/conv_dev.jsonl

Job i is drawn by numpy.random.default_rng(i) alone. Even seeds are the
development half, odd seeds the test half, as in gen_jobs.py. Seeds of
the two generators are separate draws: use ranges that do not overlap
(20000 and up here) so that a job's folder names one generator.

Images: Fashion-MNIST 28x28 and 14x14 (pixels 0..255 with scale 1/255)
and the 8x8 digit images of gen_jobs.py (block counts 0..16, scale 1/16
in half the jobs, raw in the other half, as scikit-learn users have it).
Architectures: one or two conv blocks (3x3 kernels, 5x5 on 28x28 now and
then; 4 to 32 filters; valid or same padding; one or two conv2d per
block), max or average pooling 2 where the image is big enough, then
flatten or global average pooling, an optional dense layer, the output.
Epochs are capped by a cost estimate (multiply-adds of a forward pass x
rows x epochs <= CONV_COST_CAP) so that a job trains in seconds on a
2-core CPU.
"""
import argparse
import json
import math
import sys

import numpy as np

import gen_jobs as g

# epochs * rows * forward multiply-adds. The dense cap (gen_jobs.COST_CAP,
# 4e10) trains in a few seconds; conv layers go through im2col and run at
# roughly a third of the dense GEMM rate on the 2-core POCL CPU (measured:
# issue 13's CNN, 2.6e6 multiply-adds a row, ~4000 rows/s, so ~1e10/s
# forward+backward), hence a third of the cap.
CONV_COST_CAP = 1.5e10

IMAGE_FAMILIES = ("fashion", "fashion14", "digits")
SIDE = {"fashion": 28, "fashion14": 14, "digits": 8}
# Rows at most (a 28x28 image costs 4x a 14x14 one in every conv layer).
MAX_ROWS = {"fashion": 3000, "fashion14": 8000, "digits": 8000}

FAULTS = ("labels_uninformative", "class_imbalance", "learning_rate_too_high",
          "learning_rate_too_low", "poor_initialization", "dead_relu",
          "saturated_activation", "vanishing_gradient", "exploding_gradient",
          "numerical_instability", "unnormalized_inputs", "overfitting",
          "output_loss_mismatch")
# The first seed whose rotation holds insufficient_capacity (job_kind).
CAPACITY_FROM = 23040

HEALTHY_VARIANTS = ("plain", "noisy_labels", "slow_start", "tiny", "mild_imbalance",
                    "deep")


# ------------------------------------------------------------ architecture


def conv(filters, act, kernel=3, padding="valid", kinit=None, binit=None):
    layer = {"type": "conv2d", "filters": int(filters), "kernel_size": int(kernel),
             "padding": padding, "activation": act}
    if kinit is not None:
        layer["kernel_initializer"] = kinit
    if binit is not None:
        layer["bias_initializer"] = binit
    return layer


def he_for(act):
    return {"relu": "he_normal", "leaky_relu": "he_uniform"}.get(act)


def draw_convs(rng, side, acts=("relu", "relu", "leaky_relu", "tanh"), n_blocks=None,
               per_block=None, act=None):
    """-> conv layers (with their pooling entries) for a side x side image.
    Keeps every feature map at least 2x2."""
    act = act or str(rng.choice(acts))
    if n_blocks is None:
        n_blocks = 1 if side <= 8 else int(rng.integers(1, 3))
    layers = []
    filters = int(2 ** rng.integers(2, 5))            # 4 .. 16 to start
    kernel = 5 if side == 28 and rng.random() < 0.25 else 3
    size = side
    for b in range(n_blocks):
        reps = per_block or (1 if rng.random() < 0.7 else 2)
        for _ in range(reps):
            padding = str(rng.choice(["valid", "same"]))
            if padding == "valid" and size - kernel + 1 < 3:
                padding = "same"
            layers.append(conv(filters, act, kernel, padding, he_for(act)))
            if padding == "valid":
                size = size - kernel + 1
            kernel = 3
        if size >= 4 and (b < n_blocks - 1 or rng.random() < 0.8):
            layers.append({"type": str(rng.choice(["max_pooling2d", "max_pooling2d",
                                                   "average_pooling2d"])),
                           "pool_size": 2})
            size //= 2
        filters = min(32, filters * 2)
    return layers, act


def head(rng, convs, k, logits=False, dense_units=None):
    """flatten (or global average pooling where the last conv2d has no
    pooling yet: one pooling entry per conv2d) + optional dense + output."""
    out = []
    if convs[-1]["type"] == "conv2d" and rng.random() < 0.2:
        out.append({"type": "global_average_pooling2d"})
    else:
        out.append({"type": "flatten"})
    if dense_units is None and rng.random() < 0.5:
        dense_units = int(2 ** rng.integers(5, 8))    # 32 .. 128
    if dense_units:
        out.append(g.dense(dense_units, "relu", "he_normal"))
    out.append(g.output_layer(k, logits))
    return out


def first_conv(layers, side):
    for layer in layers:
        if layer["type"] == "conv2d":
            layer["input_shape"] = [side, side, 1]
            return


def conv_layers(layers):
    return [layer for layer in layers if layer["type"] == "conv2d"]


def forward_macs(layers, side):
    """Multiply-adds of one row's forward pass (conv and dense layers)."""
    size, ch, total, flat = side, 1, 0, None
    for layer in layers:
        t = layer["type"]
        if t == "conv2d":
            kk = layer["kernel_size"]
            if layer.get("padding", "valid") == "valid":
                size = size - kk + 1
            total += size * size * kk * kk * ch * layer["filters"]
            ch = layer["filters"]
        elif t.endswith("pooling2d") and not t.startswith("global"):
            size //= layer.get("pool_size", 2)
        elif t == "global_average_pooling2d":
            flat = ch
        elif t == "flatten":
            flat = size * size * ch
        elif t == "dense":
            total += flat * layer["units"]
            flat = layer["units"]
    return total


# -------------------------------------------------------------------- jobs


def image_data(job, rng, family=None, n=None, k=None, val_mode=None, onehot=None,
               transform=None, raw=None):
    """Draw image rows with gen_jobs.build_data; digits get scale 1/16 unless
    raw. -> (data, facts, side)."""
    family = family or str(rng.choice(IMAGE_FAMILIES))
    n = n or min(g.draw_rows(rng), MAX_ROWS[family])
    data, facts = g.build_data(job, family, n, k=k, val_mode=val_mode, onehot=onehot,
                               transform=transform)
    if family == "digits":
        if raw is None:
            raw = bool(rng.random() < 0.5)
        if not raw:
            for part in ("train", "validation"):
                if part in data:
                    data[part]["scale"] = 1 / 16
    return data, facts, SIDE[family]


def finish(job, name, data, facts, side, layers, optimizer, epochs, batch):
    first_conv(layers, side)
    cost = forward_macs(layers, side) * facts["n_train"]
    epochs = int(max(3, min(epochs, CONV_COST_CAP // max(cost, 1))))
    return {"name": name, "data": data, "model": {"layers": layers},
            "loss": g.loss_for(facts, logits=layers[-1]["activation"] == "linear"),
            "optimizer": optimizer, "epochs": epochs, "batch_size": int(batch),
            "seed": job.seed}


def sane_opt(rng):
    return g.sane_optimizer(rng, ("adam", "adam", "sgd_momentum", "rmsprop", "adamw"))


def basic(job, rng, family=None, n=None, k=None, acts=("relu", "relu", "leaky_relu", "tanh"),
          act=None, opt=None, epochs=None, val_mode=None, onehot=None, transform=None,
          logits=None, n_blocks=None, per_block=None, raw=None):
    """A healthy CNN job's parts -> (data, facts, side, layers, opt, epochs, batch)."""
    data, facts, side = image_data(job, rng, family, n, k, val_mode, onehot, transform, raw)
    convs, _ = draw_convs(rng, side, acts, n_blocks, per_block, act)
    if logits is None:
        logits = bool(rng.random() < 0.15)
    layers = convs + head(rng, convs, facts["k"], logits)
    opt = opt or sane_opt(rng)
    epochs = epochs or g.rand_epochs(rng, 5, 25)
    return data, facts, side, layers, opt, epochs, g.rand_batch(rng)


def set_truth(job, facts, magnitude, note, **extra):
    job.truth.update({"family": facts["family"], "magnitude": magnitude, "note": note,
                      "arch": "conv"})
    job.truth.update(extra)


def gen_healthy(job, rng):
    variant = str(rng.choice(HEALTHY_VARIANTS))
    transform, magnitude, n, family, note = None, None, None, None, "a CNN that learns"
    per_block, n_blocks = None, None
    if variant == "noisy_labels":
        rate = rng.uniform(0.05, 0.2)
        magnitude = {"flipped": g.r3(rate)}
        transform = g.label_noise(rng, rate)
        note = "%.0f%% of labels flipped to another class" % (100 * rate)
    elif variant == "tiny":
        n = int(rng.integers(100, 301))
        note = "tiny training set that still learns"
    elif variant == "mild_imbalance":
        ratio = rng.uniform(3, 8)
        magnitude = {"ratio": g.r3(ratio)}
        transform = g.imbalance_transform(rng, ratio)
        note = "classes unbalanced %.1f:1 but learnable" % ratio
    elif variant == "deep":
        family = str(rng.choice(["fashion", "fashion14"]))
        n_blocks, per_block = 2, 2
        note = "two blocks of two relu convs: deeper, still trains"
    # Digit images scaled (1/16): raw block counts under SGD are a fault
    # of their own (development job 20118, momentum SGD at 0.035 on raw
    # digits: 0.24 held out where lr / 10 reaches 0.71).
    data, facts, side, layers, opt, epochs, batch = basic(
        job, rng, family, n=n, transform=transform, n_blocks=n_blocks, per_block=per_block,
        raw=False,
        acts=("relu", "leaky_relu") if variant == "deep" else ("relu", "relu", "leaky_relu",
                                                                "tanh"))
    if variant == "slow_start":
        opt = {"name": "sgd", "learning_rate": g.r3(10 ** rng.uniform(-2.0, -1.5))}
        epochs = g.rand_epochs(rng, 15, 30)
        note = "plain SGD at a modest rate: slow first epochs, then it learns"
    if opt["name"] == "sgd" and "momentum" not in opt and variant != "slow_start":
        opt["momentum"] = 0.9
    # Enough steps to learn: small sets get small batches and more epochs.
    while facts["n_train"] * epochs / batch < 400 and batch > 16:
        batch //= 2
    while facts["n_train"] * epochs / batch < 400 and epochs < 40:
        epochs += 1
    job.spec = finish(job, "cnn-healthy-%s-%s" % (variant, facts["family"]), data, facts,
                      side, layers, opt, epochs, batch)
    job.truth = {"expect": "none", "family": facts["family"], "fault": None,
                 "variant": variant, "magnitude": magnitude, "note": note,
                 "check": "learns", "arch": "conv"}


def fault_labels_uninformative(job, rng):
    mode = str(rng.choice(["random", "permuted"]))
    val_mode = str(rng.choice(["split", "separate", "none"], p=[0.45, 0.4, 0.15]))
    opt = {"name": str(rng.choice(["adam", "adamw", "rmsprop"])),
           "learning_rate": g.r3(10 ** rng.uniform(-3, -2.3))}
    data, facts, side, layers, opt, epochs, batch = basic(
        job, rng, val_mode=val_mode, opt=opt, epochs=g.rand_epochs(rng, 10, 30))
    k = facts["k"]
    for name in ("y.npy", "yv.npy"):
        if name not in job.arrays:
            continue
        y = job.arrays[name]
        ids = y.argmax(1) if y.ndim == 2 else y
        new = rng.integers(0, k, len(ids)) if mode == "random" else rng.permutation(ids)
        job.put("true_" + name, y)
        job.put(name, g.encode(new, k, facts["onehot"]))
    spec = finish(job, "cnn-uninformative-%s-%s" % (mode, facts["family"]), data, facts,
                  side, layers, opt, epochs, batch)
    twin = g.clone(spec)
    twin["data"]["train"]["labels"] = "true_y.npy"
    if "validation" in twin["data"]:
        twin["data"]["validation"]["labels"] = "true_yv.npy"
    job.spec, job.twin = spec, twin
    set_truth(job, facts, {"mode": mode}, "labels %s across rows" % mode)


def fault_class_imbalance(job, rng):
    ratio = 10 ** rng.uniform(math.log10(20), math.log10(200))
    family = str(rng.choice(IMAGE_FAMILIES))
    k = int(rng.integers(3, 7))
    n = max(min(g.draw_rows(rng), MAX_ROWS[family]), 1500)
    data, facts, side = image_data(job, rng, family, n, k, transform=g.one_majority(rng, ratio))
    bx, by, _, _ = g.make_family(rng, family, facts["n_train"] + facts["n_val"], k)
    convs, _ = draw_convs(rng, side, ("relu", "tanh"), n_blocks=1, per_block=1)
    for layer in convs:
        if layer["type"] == "conv2d":
            layer["filters"] = int(rng.integers(2, 5))
    gap = convs[-1]["type"] == "conv2d" and rng.random() < 0.5
    layers = convs + [{"type": "global_average_pooling2d" if gap else "flatten"},
                      g.output_layer(k)]
    opt = {"name": "sgd", "learning_rate": g.r3(10 ** rng.uniform(-2, -1.3))}
    spec = finish(job, "cnn-imbalance-%s" % family, data, facts, side, layers, opt,
                  g.rand_epochs(rng, 10, 25), g.rand_batch(rng))
    twin = g.clone(spec)
    nt = facts["n_train"]
    twin["data"]["train"]["features"] = job.put("bal_x.npy", bx[:nt])
    twin["data"]["train"]["labels"] = job.put("bal_y.npy", g.encode(by[:nt], k, facts["onehot"]))
    if "validation" in twin["data"]:
        twin["data"]["validation"]["features"] = job.put("bal_xv.npy", bx[nt:])
        twin["data"]["validation"]["labels"] = job.put(
            "bal_yv.npy", g.encode(by[nt:], k, facts["onehot"]))
    job.spec, job.twin = spec, twin
    set_truth(job, facts, {"ratio": g.r3(ratio)},
              "one majority class %.0f:1 over the others, small CNN + SGD" % ratio,
              check="collapse")


def rate_fault(job, rng, kind, name, lr, act=None):
    opt = {"name": name, "learning_rate": g.r3(lr)}
    data, facts, side, layers, _, epochs, batch = basic(job, rng, opt=opt, act=act)
    spec = finish(job, "cnn-%s-%s-%s" % (kind, name, facts["family"]), data, facts, side,
                  layers, opt, epochs, batch)
    twin = g.clone(spec)
    twin["optimizer"]["learning_rate"] = 0.05 if name == "sgd" else 0.001
    if name == "sgd":
        twin["optimizer"]["momentum"] = 0.9
        twin["optimizer"]["learning_rate"] = 0.01
    job.spec, job.twin = spec, twin
    return facts, spec


def fault_learning_rate_too_high(job, rng):
    name = str(rng.choice(["adam", "rmsprop", "adamw", "sgd"]))
    lr = 10 ** (rng.uniform(0.7, 2) if name == "sgd" else rng.uniform(0.5, 2))
    facts, _ = rate_fault(job, rng, "lr-high", name, lr,
                          act="tanh" if name == "sgd" else None)
    set_truth(job, facts, {"lr": g.r3(lr), "optimizer": name}, "%s at lr %.3g" % (name, lr),
              check="twin_better_finite")


def fault_learning_rate_too_low(job, rng):
    name = str(rng.choice(["sgd", "sgd", "adam", "rmsprop"]))
    lr = 10 ** (rng.uniform(-7, -5.5) if name == "sgd" else rng.uniform(-7.5, -6))
    facts, _ = rate_fault(job, rng, "lr-low", name, lr)
    set_truth(job, facts, {"lr": g.r3(lr), "optimizer": name}, "%s at lr %.3g" % (name, lr))


def kernel_fault(job, rng, kind, acts, mutate, **basic_kw):
    """A healthy CNN whose conv layers `mutate` changes; the twin keeps them."""
    data, facts, side, layers, opt, epochs, batch = basic(job, rng, acts=acts, **basic_kw)
    twin_layers = g.clone(layers)
    mag = mutate(conv_layers(layers))
    spec = finish(job, "cnn-%s-%s" % (kind, facts["family"]), data, facts, side, layers, opt,
                  epochs, batch)
    twin = g.clone(spec)
    first_conv(twin_layers, side)
    twin["model"]["layers"] = twin_layers
    job.spec, job.twin = spec, twin
    return facts, mag


def fault_poor_initialization(job, rng):
    mode = str(rng.choice(["zeros", "constant", "huge_normal"]))
    if mode == "zeros":
        kinit, mag = "zeros", {"mode": "zeros"}
    elif mode == "constant":
        v = g.r3(rng.uniform(0.05, 0.5))
        kinit, mag = {"name": "constant", "value": v}, {"mode": "constant", "value": v}
    else:
        s = g.r3(10 ** rng.uniform(math.log10(3), math.log10(30)))
        kinit, mag = {"name": "random_normal", "stddev": s}, {"mode": "random_normal",
                                                               "stddev": s}

    def mutate(convs):
        for layer in convs:
            layer["kernel_initializer"] = kinit
        return mag
    acts = ("relu", "leaky_relu") if mode == "huge_normal" else ("relu", "tanh", "leaky_relu")
    facts, mag = kernel_fault(job, rng, "init-" + mode, acts, mutate)
    set_truth(job, facts, mag, "conv kernels initialized %s" % json.dumps(kinit))


def fault_dead_relu(job, rng):
    bias = g.r3(-rng.uniform(3, 20))

    def mutate(convs):
        for layer in convs:
            layer["bias_initializer"] = {"name": "constant", "value": bias}
        return {"bias": bias}
    facts, mag = kernel_fault(job, rng, "dead-relu", ("relu",), mutate)
    set_truth(job, facts, mag, "relu conv biases at %g" % bias, check="dead")


def fault_saturated_activation(job, rng):
    act = str(rng.choice(["tanh", "sigmoid"]))
    mode = "bias" if rng.random() < 0.7 else "scale"
    opt = {"name": "sgd", "learning_rate": g.r3(10 ** rng.uniform(-2, -1.3)), "momentum": 0.9}
    b = g.r3(rng.uniform(8, 20) * (1 if rng.random() < 0.5 else -1))
    s = g.r3(10 ** rng.uniform(1, math.log10(30)))

    def mutate(convs):
        for layer in convs:
            layer.pop("kernel_initializer", None)
            if mode == "bias":
                layer["bias_initializer"] = {"name": "constant", "value": b}
            else:
                layer["kernel_initializer"] = {"name": "random_normal", "stddev": s}
        if mode == "bias":
            return {"mode": "bias", "value": b, "activation": act}
        return {"mode": "random_normal", "stddev": s, "activation": act}
    facts, mag = kernel_fault(job, rng, "saturated-" + act, (act,), mutate, opt=opt,
                              epochs=g.rand_epochs(rng, 10, 30))
    set_truth(job, facts, mag, "%s conv layers, %s" % (act, json.dumps(mag)),
              check="saturated")


def deep_stack(rng, side, depth, filters, act, kinit=None):
    layers = [conv(filters, act, 3, "same", kinit) for _ in range(depth)]
    if side >= 14 and rng.random() < 0.5:
        layers.insert(depth // 2, {"type": "max_pooling2d", "pool_size": 2})
        # a pooling entry must follow a conv2d directly (one per conv2d)
    return layers


def fault_vanishing_gradient(job, rng):
    depth = int(rng.integers(6, 10))
    filters = int(rng.choice([4, 8, 16]))
    lr = g.r3(10 ** rng.uniform(-2.5, -1))
    opt = {"name": "sgd", "learning_rate": lr}
    data, facts, side = image_data(job, rng, str(rng.choice(["fashion14", "digits"])))
    layers = deep_stack(rng, side, depth, filters, "sigmoid")
    layers += head(rng, layers, facts["k"])
    spec = finish(job, "cnn-vanishing-%dx%d-%s" % (depth, filters, facts["family"]), data,
                  facts, side, layers, opt, g.rand_epochs(rng, 5, 25), g.rand_batch(rng))
    twin = g.clone(spec)
    for layer in conv_layers(twin["model"]["layers"]):
        layer["activation"] = "relu"
        layer["kernel_initializer"] = "he_normal"
    job.spec, job.twin = spec, twin
    set_truth(job, facts, {"depth": depth, "filters": filters, "lr": lr},
              "%d sigmoid conv layers of %d filters, SGD lr %g" % (depth, filters, lr))


def fault_exploding_gradient(job, rng):
    depth = int(rng.integers(5, 9))
    filters = int(rng.choice([8, 16]))
    mult = rng.uniform(2.5, 4.0)
    name = str(rng.choice(["sgd", "adam"]))
    lr = 10 ** rng.uniform(-5, -4) if name == "sgd" else 10 ** rng.uniform(-3.3, -2.7)
    opt = {"name": name, "learning_rate": g.r3(lr)}
    data, facts, side = image_data(job, rng, str(rng.choice(["fashion14", "digits"])))
    layers, fan_in = [], 9
    for _ in range(depth):
        std = g.r3(mult * math.sqrt(2.0 / fan_in))
        layers.append(conv(filters, "relu", 3, "same", {"name": "random_normal", "stddev": std}))
        fan_in = 9 * filters
    if side >= 14:
        layers.insert(depth // 2, {"type": "max_pooling2d", "pool_size": 2})
    layers += head(rng, layers, facts["k"])
    spec = finish(job, "cnn-exploding-%dx%d-%s" % (depth, filters, facts["family"]), data,
                  facts, side, layers, opt, g.rand_epochs(rng, 5, 25), g.rand_batch(rng))
    twin = g.clone(spec)
    for layer in conv_layers(twin["model"]["layers"]):
        layer["kernel_initializer"] = "he_normal"
    if name == "sgd":
        twin["optimizer"]["learning_rate"] = 0.01
    job.spec, job.twin = spec, twin
    set_truth(job, facts, {"depth": depth, "he_multiple": g.r3(mult), "optimizer": name,
                           "lr": g.r3(lr)},
              "%d relu conv layers at random_normal %.3gx He" % (depth, mult),
              check="twin_better_finite")


def fault_numerical_instability(job, rng):
    lr = 10 ** rng.uniform(1, 2.5)
    opt = {"name": "sgd", "learning_rate": g.r3(lr)}
    if rng.random() < 0.5:
        opt["momentum"] = 0.9
    data, facts, side, layers, _, epochs, batch = basic(job, rng, opt=opt,
                                                        acts=("relu", "leaky_relu"))
    spec = finish(job, "cnn-nan-%s" % facts["family"], data, facts, side, layers, opt,
                  epochs, batch)
    twin = g.clone(spec)
    twin["optimizer"] = {"name": "sgd", "learning_rate": 0.01, "momentum": 0.9}
    job.spec, job.twin = spec, twin
    set_truth(job, facts, {"lr": g.r3(lr), "momentum": opt.get("momentum", 0)},
              "SGD lr %.3g on a relu CNN: the loss becomes NaN" % lr, check="nan")


def fault_unnormalized_inputs(job, rng):
    opt = {"name": "sgd", "learning_rate": g.r3(10 ** rng.uniform(-2.3, -1.3))}
    family = str(rng.choice(["fashion", "fashion14"]))
    data, facts, side, layers, _, epochs, batch = basic(job, rng, family, opt=opt)
    for part in ("train", "validation"):
        if part in data:
            data[part]["scale"] = 1
    spec = finish(job, "cnn-unnormalized-%s" % family, data, facts, side, layers, opt,
                  epochs, batch)
    twin = g.clone(spec)
    for part in ("train", "validation"):
        if part in twin["data"]:
            twin["data"][part]["scale"] = 1 / 255
    job.spec, job.twin = spec, twin
    set_truth(job, facts, {"mode": "raw_pixels", "factor": 255},
              "pixels 0..255 unscaled, SGD lr %g" % opt["learning_rate"])


def fault_overfitting(job, rng):
    family = str(rng.choice(IMAGE_FAMILIES))
    n = int(rng.integers(100, 401))
    noisy = rng.uniform(0.1, 0.3)
    transform = g.label_noise(rng, noisy)
    val_mode = str(rng.choice(["split", "separate"]))
    data, facts, side = image_data(job, rng, family, n, val_mode=val_mode, transform=transform)
    convs, _ = draw_convs(rng, side, ("relu",), n_blocks=1, per_block=1)
    for layer in conv_layers(convs):
        layer["filters"] = int(rng.choice([16, 32]))
    layers = convs + [{"type": "flatten"}, g.dense(int(rng.choice([128, 256])), "relu",
                                                   "he_normal"), g.output_layer(facts["k"])]
    opt = {"name": "adam", "learning_rate": g.r3(10 ** rng.uniform(-3, -2.5))}
    spec = finish(job, "cnn-overfit-%s" % family, data, facts, side, layers, opt,
                  int(rng.integers(80, 201)), int(rng.choice([16, 32])))
    twin = g.clone(spec)
    twin["epochs"] = 10
    job.spec, job.twin = spec, twin
    set_truth(job, facts, {"train_rows": facts["n_train"], "epochs": spec["epochs"],
                           "label_noise": g.r3(noisy)},
              "%d training rows, %d epochs, a CNN with a wide dense layer" % (
                  facts["n_train"], spec["epochs"]), check="overfit")


def fault_output_loss_mismatch(job, rng):
    mode = str(rng.choice(["softmax_from_logits", "linear_probabilities",
                           "sigmoid_output", "relu_output"]))
    data, facts, side, layers, opt, epochs, batch = basic(job, rng, logits=False)
    spec = finish(job, "cnn-output-%s" % mode, data, facts, side, layers, opt, epochs, batch)
    twin = g.clone(spec)
    out = spec["model"]["layers"][-1]
    if mode == "softmax_from_logits":
        spec["loss"] = {"name": spec["loss"], "from_logits": True}
    elif mode == "linear_probabilities":
        out["activation"] = "linear"
    else:
        out["activation"] = mode.split("_")[0]
    job.spec, job.twin = spec, twin
    set_truth(job, facts, {"mode": mode}, "output/loss pairing: %s" % mode, check="rejected")


def fault_insufficient_capacity(job, rng):
    """A CNN whose dense head squeezes 6 to 10 classes through 2
    units (the dense analogue of a layer too narrow; gen_jobs.py draws
    such layers from seed 19840 on); the twin's head is 32 times wider.
    Drawn from seed 23040 on (job_kind)."""
    k = int(rng.integers(6, 11))
    data, facts, side, layers, opt, epochs, batch = basic(job, rng, k=k)
    convs = [layer for layer in layers if layer["type"] not in ("flatten", "dense")
             and layer["type"] != "global_average_pooling2d"]
    act = "relu" if rng.random() < 0.5 else "tanh"
    init = "he_normal" if act == "relu" else "glorot_uniform"
    units = 2
    out = layers[-1]
    layers = convs + [{"type": "flatten"}, g.dense(units, act, init), out]
    # Enough steps to learn (as gen_healthy): a job of a few dozen steps
    # is short of steps, not of units (development job 23124: 15 steps).
    epochs = max(epochs, 10)
    while facts["n_train"] * epochs / batch < 600 and batch > 16:
        batch //= 2
    while facts["n_train"] * epochs / batch < 600 and epochs < 40:
        epochs += 1
    spec = finish(job, "cnn-capacity-%s" % facts["family"], data, facts, side, layers, opt,
                  epochs, batch)
    twin = g.clone(spec)
    twin["model"]["layers"][-2] = g.dense(32 * units, act, init)
    job.spec, job.twin = spec, twin
    set_truth(job, facts, {"classes": facts["k"], "bottleneck": units},
              "%d classes through a dense layer of %d %s units after the convolutions" % (
                  facts["k"], units, act))


# -------------------------------------------------------------------- main


def job_kind(seed):
    """"healthy" or a fault: a fixed rotation. Seeds 2s and 2s+1 share slot
    s; a cycle of 22 slots (23 from CAPACITY_FROM) holds 9 healthy jobs (~41%, as gen_jobs.py) and
    one of each fault."""
    cycle = ["healthy"] * 9 + list(FAULTS)
    # From seed 23040 on (twentieth session), a cycle of 23 slots adds
    # insufficient_capacity: the earlier seeds draw the jobs they drew.
    if seed >= CAPACITY_FROM:
        cycle.append("insufficient_capacity")
    order = sorted(range(len(cycle)), key=lambda j: (j * 7) % len(cycle))
    return cycle[order[(seed // 2) % len(cycle)]]


def make_job(seed):
    job = g.Job(seed)
    kind = job_kind(seed)
    if kind == "healthy":
        gen_healthy(job, job.rng)
    else:
        globals()["fault_" + kind](job, job.rng)
        job.truth.setdefault("expect", kind)
        job.truth["fault"] = kind
        job.truth.setdefault("check", "twin_better")
    job.truth["seed"] = seed
    job.truth["chance"] = g.majority_share(job.arrays, job.spec)
    job.truth["k"] = job.spec["model"]["layers"][-1]["units"]
    if job.twin is not None:
        job.truth["twin_chance"] = g.majority_share(job.arrays, job.twin)
    job.truth["half"] = "dev" if seed % 2 == 0 else "test"
    job.spec["name"] = "job%d-%s" % (seed, job.spec["name"])
    if job.twin is not None:
        job.twin["name"] = job.spec["name"] + "-twin"
    return job


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--seed-range", default="20000:20160", metavar="A:B",
                    help="job seeds A..B-1 (default 20000:20160)")
    ap.add_argument("--out", required=True, metavar="DIR")
    ap.add_argument("--half", choices=("dev", "test", "all"), default="all",
                    help="write only even (dev) or odd (test) seeds (default all)")
    args = ap.parse_args()
    a, b = (int(v) for v in args.seed_range.split(":"))
    counts = {}
    for seed in range(a, b):
        if (args.half == "dev" and seed % 2) or (args.half == "test" and not seed % 2):
            continue
        job = make_job(seed)
        g.write_job(job, args.out)
        key = job.truth["expect"]
        counts[key] = counts.get(key, 0) + 1
        print("job_%d %-5s %-24s %s" % (seed, job.truth["half"], key, job.spec["name"]),
              file=sys.stderr)
    print("%d jobs in %s" % (sum(counts.values()), args.out))
    for key in sorted(counts):
        print("  %-24s %d" % (key, counts[key]))


if __name__ == "__main__":
    main()
