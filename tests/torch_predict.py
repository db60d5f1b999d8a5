#!/usr/bin/env python3
"""tests/torch_predict.py — load a flatline export into PyTorch, as
docs/model-format.md tells a user to, and check that it reproduces
`flatline predict`.

Usage: torch_predict.py MODEL.safetensors DATA.csv LABEL_COLUMN PRED.csv

MODEL is read with plain Python (no `safetensors` package: Debian does not
ship it); each layer becomes an nn.Linear whose weight is the kernel
transposed (PyTorch's Linear is (out, in), the export's kernels are Keras'
(in, out)), followed by the activation the metadata names; a layer with
batch normalization (metadata "batch_normalization") gets an
nn.BatchNorm1d in eval mode holding its moving statistics, before or after
the activation as the metadata says; the metadata's "scale" and
standardization are applied to the features first. DATA is a CSV
with a header; LABEL_COLUMN is dropped and the other columns are the
features. PRED is `flatline predict`'s CSV (class, p0, p1, ...).
A conv2d layer (metadata "conv2d": per layer null or its geometry)
becomes an nn.Conv2d on the row reshaped channels-last (H, W, C) and
permuted to PyTorch's (C, H, W), its weight the kernel (kh, kw, cin,
filters) permuted to (filters, cin, kh, kw); TF's "same" padding (the odd
cell at the bottom/right) is an explicit F.pad, and pooling follows the
activation (max ignores the padding, average divides by the cells inside
the image); the output is permuted back and flattened channels-last.

Exits 0 when every probability agrees within 1e-5 + 1e-4 * |p| and every
class id is the same, 1 on a mismatch (printed), 77 when PyTorch is not
installed (Debian: apt-get install python3-torch), 2 on bad usage.
"""

import csv
import json
import struct
import sys

# float32 GEMMs in another order (CLBlast or flatline's kernels against
# PyTorch's CPU BLAS): differences of a few ulps, far below this.
ABS_TOL, REL_TOL = 1e-5, 1e-4


def read_safetensors(path):
    with open(path, "rb") as f:
        blob = f.read()
    (n,) = struct.unpack("<Q", blob[:8])
    header = json.loads(blob[8:8 + n].decode("utf-8"))
    meta = header.pop("__metadata__", {})
    data = blob[8 + n:]
    tensors = {}
    for name, info in header.items():
        assert info["dtype"] == "F32", name
        begin, end = info["data_offsets"]
        values = struct.unpack("<%df" % ((end - begin) // 4), data[begin:end])
        tensors[name] = (info["shape"], values)
    return meta, tensors


def conv_module(torch, meta_l, kernel, bias, act):
    """One conv2d layer (with its pooling) as a module on flat rows."""
    F = torch.nn.functional
    (kh, kw, cin, cout), k = kernel
    h, w, c = meta_l["input_shape"]
    sh, sw = meta_l["strides"]

    def same_pad(n, k, s):
        out = (n + s - 1) // s
        total = max((out - 1) * s + k - n, 0)
        return total // 2, total - total // 2

    class Conv(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.conv = torch.nn.Conv2d(cin, cout, (kh, kw), stride=(sh, sw))
            with torch.no_grad():
                wt = torch.tensor(k, dtype=torch.float32).reshape(kh, kw, cin, cout)
                self.conv.weight.copy_(wt.permute(3, 2, 0, 1))
                self.conv.bias.copy_(torch.tensor(bias, dtype=torch.float32))

        def forward(self, x):
            x = x.reshape(-1, h, w, c).permute(0, 3, 1, 2)
            if meta_l["padding"] == "same":
                t, b = same_pad(h, kh, sh)
                l, r = same_pad(w, kw, sw)
                x = F.pad(x, (l, r, t, b))
            x = act(self.conv(x))
            pool = meta_l.get("pool")
            if pool == "global_average":
                x = x.mean(dim=(2, 3), keepdim=True)
            elif pool:
                ph, pw = meta_l["pool_size"]
                ps = tuple(meta_l["pool_strides"])
                oh, ow = x.shape[2], x.shape[3]
                pad = (0, 0, 0, 0)
                if meta_l["pool_padding"] == "same":
                    t, b = same_pad(oh, ph, ps[0])
                    l, r = same_pad(ow, pw, ps[1])
                    pad = (l, r, t, b)
                if pool == "max":
                    x = F.max_pool2d(F.pad(x, pad, value=float("-inf")),
                                     (ph, pw), ps)
                else:  # the mean of the cells inside the image
                    ones = torch.ones_like(x[:, :1])
                    s = F.avg_pool2d(F.pad(x, pad), (ph, pw), ps)
                    n = F.avg_pool2d(F.pad(ones, pad), (ph, pw), ps)
                    x = s / n
            return x.permute(0, 2, 3, 1).reshape(x.shape[0], -1)

    return Conv()


def main(argv):
    if len(argv) != 5:
        sys.stderr.write(__doc__.split("\n\n")[1] + "\n")
        return 2
    try:
        import torch
    except ImportError:
        print("skipped: PyTorch is not installed (Debian: apt-get install "
              "python3-torch)")
        return 77
    model_path, data_path, label, pred_path = argv[1:]
    meta, tensors = read_safetensors(model_path)
    if meta.get("format") != "tf" or meta.get("kernel_layout") != "in_out":
        print("metadata does not say Keras layout: %r" % meta)
        return 1
    acts = meta["activations"].split(",")
    bns = json.loads(meta.get("batch_normalization", "null")) or [None] * len(acts)
    convs = json.loads(meta.get("conv2d", "null")) or [None] * len(acts)
    layers = []
    for l, act in enumerate(acts):
        if convs[l] is not None:
            activation = {
                "linear": torch.nn.Identity(), "relu": torch.nn.ReLU(),
                "leaky_relu": torch.nn.LeakyReLU(0.2), "tanh": torch.nn.Tanh(),
                "sigmoid": torch.nn.Sigmoid()}[act]
            layers.append(conv_module(torch, convs[l],
                                      tensors["layers.%d.kernel" % l],
                                      tensors["layers.%d.bias" % l][1],
                                      activation))
            continue
        (d_in, d_out), kernel = tensors["layers.%d.kernel" % l]
        _, bias = tensors["layers.%d.bias" % l]
        lin = torch.nn.Linear(d_in, d_out)
        with torch.no_grad():
            w = torch.tensor(kernel, dtype=torch.float32).reshape(d_in, d_out)
            lin.weight.copy_(w.T)
            lin.bias.copy_(torch.tensor(bias, dtype=torch.float32))
        layers.append(lin)
        activation = {
            "linear": torch.nn.Identity(), "relu": torch.nn.ReLU(),
            "leaky_relu": torch.nn.LeakyReLU(0.2), "tanh": torch.nn.Tanh(),
            "sigmoid": torch.nn.Sigmoid(), "softmax": torch.nn.Softmax(dim=1),
        }[act]
        bn = bns[l]
        if bn is None:
            layers.append(activation)
            continue
        # y = gamma (x - moving_mean) / sqrt(moving_variance + eps) + beta
        norm = torch.nn.BatchNorm1d(d_out, eps=bn["epsilon"],
                                    affine=True).eval()
        with torch.no_grad():
            def vec(name, default):
                key = "layers.%d.bn.%s" % (l, name)
                if key in tensors:
                    return torch.tensor(tensors[key][1], dtype=torch.float32)
                return torch.full((d_out,), default, dtype=torch.float32)
            norm.weight.copy_(vec("gamma", 1.0))   # scale=false: 1
            norm.bias.copy_(vec("beta", 0.0))      # center=false: 0
            norm.running_mean.copy_(vec("moving_mean", None))
            norm.running_var.copy_(vec("moving_variance", None))
        if bn["position"] == "before_activation":
            layers += [norm, activation]
        else:
            layers += [activation, norm]
    model = torch.nn.Sequential(*layers).eval()

    with open(data_path, newline="") as f:
        rows = list(csv.reader(f))
    cols = [i for i, name in enumerate(rows[0]) if name != label]
    x = torch.tensor([[float(r[i]) for i in cols] for r in rows[1:]],
                     dtype=torch.float32)
    # The preprocessing the metadata names, as a user must repeat it.
    if "scale" in meta:
        x = x * torch.tensor(float(meta["scale"]), dtype=torch.float32)
    if meta.get("normalize") == "standardize":
        mean = torch.tensor(json.loads(meta["normalize_mean"]), dtype=torch.float32)
        std = torch.tensor(json.loads(meta["normalize_std"]), dtype=torch.float32)
        x = (x - mean) / std
    with torch.no_grad():
        probs = model(x)
    if acts[-1] == "linear":  # logits: flatline predicts their softmax
        probs = torch.softmax(probs, dim=1)

    with open(pred_path, newline="") as f:
        pred = list(csv.reader(f))[1:]
    if len(pred) != len(x):
        print("flatline predicted %d rows, the data has %d" % (len(pred), len(x)))
        return 1
    worst = 0.0
    for i, row in enumerate(pred):
        theirs = [float(v) for v in row[1:]]
        ours = probs[i].tolist()
        for j, (a, b) in enumerate(zip(theirs, ours)):
            err = abs(a - b)
            worst = max(worst, err)
            if err > ABS_TOL + REL_TOL * abs(b):
                print("row %d class %d: flatline %r, PyTorch %r" % (i, j, a, b))
                return 1
        if int(row[0]) != int(probs[i].argmax()):
            print("row %d: flatline says class %s, PyTorch %d" %
                  (i, row[0], int(probs[i].argmax())))
            return 1
    print("PyTorch reproduces %d predictions (largest difference %.3g)"
          % (len(pred), worst))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
