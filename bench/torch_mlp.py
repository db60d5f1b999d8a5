#!/usr/bin/python3
"""The PyTorch side of flatline's benchmark (on the CPU, or on a CUDA GPU with
--device cuda): trains the same multiclass MLP that a flatline job spec
describes on Fashion-MNIST and prints one JSON line of results.

Matches flatline's job (examples/fashion-mnist/mlp.json) point by point:
  data       the IDX .gz files themselves, scaled by 1/255, the 10k test set
             as the validation set; both held as tensors on the device
             (CPU memory or the GPU's) for the whole run, as flatline keeps
             them resident on its device
  model      Linear layers, ReLU between them, softmax output folded into
             CrossEntropyLoss on the logits (= sparse categorical CE)
  init       Keras defaults: xavier_uniform_ weights (glorot_uniform), zero
             biases
  optimizer  Adam(lr=1e-3, betas=(0.9, 0.999), eps=1e-7)
  batches    a fresh seeded permutation every epoch, batch size B, the last
             partial batch included, loss averaged over the batch's rows
  metrics    per epoch: training loss and accuracy accumulated over the
             batches, then test loss and accuracy

Timing, as flatline's samples_per_s: an epoch's clock covers the shuffle and
every training step (with its loss/accuracy bookkeeping) and stops before the
test evaluation; samples/s = training rows / those seconds. On a GPU the
clock stops after torch.cuda.synchronize(), and the loss/accuracy sums stay
on the device until the epoch ends (one sync per epoch, as flatline's --run
does; a per-step .item() would stall the GPU every step). The time taken to
import torch is measured separately (import_seconds) and counted nowhere
else.

PyTorch's best setting is measured, not assumed: on the CPU, 1 or 2 threads
(--threads best); on a GPU, Adam's foreach or fused implementation
(--adam best: foreach, fused, or fused with the whole step replayed as a
CUDA graph). They take turns on a short run and the fastest is kept.

On the CPU, run it with Debian's /usr/bin/python3 (python3-torch is installed
for that interpreter only); on a GPU, with the interpreter that has a CUDA
build of torch.
"""
import time

_T_IMPORT = time.perf_counter()
import torch  # noqa: E402  (timed on purpose)

IMPORT_SECONDS = time.perf_counter() - _T_IMPORT

import argparse  # noqa: E402
import ctypes  # noqa: E402
import gzip  # noqa: E402
import json  # noqa: E402
import os  # noqa: E402
import platform  # noqa: E402
import re  # noqa: E402
import sys  # noqa: E402

import numpy as np  # noqa: E402

DATA_DIR = "/usr/share/datasets/fashion-mnist"


def read_idx(path, magic, header):
    """One IDX file (gzip-compressed) as a uint8 numpy array."""
    with gzip.open(path, "rb") as f:
        raw = f.read()
    got = int.from_bytes(raw[0:4], "big")
    if got != magic:
        raise ValueError(f"{path}: IDX magic {got:#x}, expected {magic:#x}")
    dims = [int.from_bytes(raw[4 + 4 * i:8 + 4 * i], "big")
            for i in range((magic & 0xFF))]
    arr = np.frombuffer(raw, dtype=np.uint8, offset=header)
    if arr.size != int(np.prod(dims)):
        raise ValueError(f"{path}: {arr.size} bytes of data for dims {dims}")
    return arr.reshape(dims)


def load_split(data_dir, prefix, device):
    images = read_idx(os.path.join(data_dir, f"{prefix}-images-idx3-ubyte.gz"),
                      0x00000803, 16)
    labels = read_idx(os.path.join(data_dir, f"{prefix}-labels-idx1-ubyte.gz"),
                      0x00000801, 8)
    if images.shape[0] != labels.shape[0]:
        raise ValueError(f"{prefix}: {images.shape[0]} images, "
                         f"{labels.shape[0]} labels")
    x = torch.from_numpy(images.reshape(images.shape[0], -1).astype(np.float32))
    x.mul_(1.0 / 255.0)  # flatline's "scale": 0.00392156862745098
    y = torch.from_numpy(labels.astype(np.int64))
    return x.contiguous().to(device), y.to(device)


def build_model(sizes, seed, device):
    torch.manual_seed(seed)
    layers = []
    for i in range(len(sizes) - 1):
        lin = torch.nn.Linear(sizes[i], sizes[i + 1])
        torch.nn.init.xavier_uniform_(lin.weight)
        torch.nn.init.zeros_(lin.bias)
        layers.append(lin)
        if i < len(sizes) - 2:
            layers.append(torch.nn.ReLU())
    return torch.nn.Sequential(*layers).to(device)


def make_optimizer(model, adam):
    """Adam as flatline's; adam = "default", "foreach", "fused" (CUDA), or
    "fused+graph" (fused, capturable for a CUDA graph)."""
    kw = {}
    if adam == "foreach":
        kw["foreach"] = True
    elif adam.startswith("fused"):
        kw["fused"] = True
    if adam.endswith("+graph"):
        kw["capturable"] = True
    return torch.optim.Adam(model.parameters(), lr=1e-3, betas=(0.9, 0.999),
                            eps=1e-7, **kw)


def sync(device):
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def eager_step(model, opt, loss_fn, x, y, idx, loss_sum, correct):
    """One optimizer step on rows idx of (x, y); adds the batch's summed loss
    and correct count to the device tensors loss_sum and correct."""
    xb = x.index_select(0, idx)
    yb = y.index_select(0, idx)
    opt.zero_grad(set_to_none=True)
    logits = model(xb)
    loss = loss_fn(logits, yb)
    loss.backward()
    opt.step()
    loss_sum.add_(loss.detach() * idx.shape[0])
    correct.add_((logits.detach().argmax(1) == yb).sum())


class GraphedStep:
    """The training step of a full batch captured once as a CUDA graph and
    replayed (PyTorch's documented whole-network capture: warm-up steps on
    a side stream, then capture; Adam built with capturable=True). It
    removes the per-kernel launch cost of eager PyTorch. Warm-up steps are
    real steps of the epoch; a partial last batch runs eagerly."""

    WARMUP = 3

    def __init__(self, model, opt, loss_fn, x, y, batch):
        self.args = (model, opt, loss_fn, x, y)
        self.batch = batch
        self.idx = torch.zeros(batch, dtype=torch.int64, device=x.device)
        self.loss_sum = torch.zeros((), device=x.device)
        self.correct = torch.zeros((), dtype=torch.int64, device=x.device)
        self.graph = None
        self.warm = 0

    def __call__(self, idx):
        if idx.shape[0] != self.batch:
            eager_step(*self.args, idx, self.loss_sum, self.correct)
            return
        self.idx.copy_(idx)
        if self.graph is not None:
            self.graph.replay()
            return
        if self.warm < self.WARMUP:
            side = torch.cuda.Stream()
            side.wait_stream(torch.cuda.current_stream())
            with torch.cuda.stream(side):
                eager_step(*self.args, self.idx, self.loss_sum, self.correct)
            torch.cuda.current_stream().wait_stream(side)
            self.warm += 1
            return
        graph = torch.cuda.CUDAGraph()
        with torch.cuda.graph(graph):
            eager_step(*self.args, self.idx, self.loss_sum, self.correct)
        self.graph = graph
        graph.replay()  # capture runs nothing: this batch's step is the replay


def train_epoch(model, opt, loss_fn, x, y, batch, gen, max_steps=None,
                graphed=None):
    """One epoch (or its first max_steps steps), eagerly or through
    `graphed` (a GraphedStep). Returns (seconds, rows, mean loss,
    accuracy); the clock covers shuffle + steps only."""
    model.train()
    n = x.shape[0]
    sync(x.device)
    t0 = time.perf_counter()
    perm = torch.randperm(n, generator=gen, device=x.device)
    # Sums kept on the device; read once at the end of the epoch.
    if graphed is not None:
        loss_sum, correct = graphed.loss_sum.zero_(), graphed.correct.zero_()
        step = graphed
    else:
        loss_sum = torch.zeros((), device=x.device)
        correct = torch.zeros((), dtype=torch.int64, device=x.device)

        def step(idx):
            eager_step(model, opt, loss_fn, x, y, idx, loss_sum, correct)
    rows_done = 0
    for i, start in enumerate(range(0, n, batch)):
        if max_steps is not None and i >= max_steps:
            break
        idx = perm[start:start + batch]
        step(idx)
        rows_done += idx.shape[0]
    loss_mean, acc = loss_sum.item() / rows_done, correct.item() / rows_done
    sync(x.device)
    seconds = time.perf_counter() - t0
    return seconds, rows_done, loss_mean, acc


@torch.no_grad()
def evaluate(model, loss_fn, x, y, batch):
    model.eval()
    loss_sum = 0.0
    correct = 0
    for start in range(0, x.shape[0], batch):
        xb = x[start:start + batch]
        yb = y[start:start + batch]
        logits = model(xb)
        loss_sum += loss_fn(logits, yb).item() * xb.shape[0]
        correct += int((logits.argmax(1) == yb).sum())
    return loss_sum / x.shape[0], correct / x.shape[0]


def make_graphed(adam, model, opt, loss_fn, x, y, batch):
    if not adam.endswith("+graph"):
        return None
    return GraphedStep(model, opt, loss_fn, x, y, batch)


def probe(candidates, apply, sizes, x, y, batch, seed, samples, rounds=2):
    """Best samples/s of a short run (3 warm-up steps, then about `samples`
    rows of timed steps) per setting (a thread count, or an Adam
    implementation), each try on a fresh model; apply(c) puts candidate c
    into effect and returns the Adam implementation to use. The candidates
    take turns for `rounds` rounds, so that a burst of load from elsewhere
    on the machine does not decide for one of them alone."""
    loss_fn = torch.nn.CrossEntropyLoss()
    steps = max(5, -(-samples // batch))
    result = {str(n): 0.0 for n in candidates}
    for _ in range(rounds):
        for n in candidates:
            adam = apply(n)
            try:
                model = build_model(sizes, seed, x.device)
                opt = make_optimizer(model, adam)
                graphed = make_graphed(adam, model, opt, loss_fn, x, y, batch)
                gen = torch.Generator(device=x.device).manual_seed(seed)
                train_epoch(model, opt, loss_fn, x, y, batch, gen,
                            max_steps=4, graphed=graphed)
                secs, rows, _, _ = train_epoch(model, opt, loss_fn, x, y,
                                               batch, gen, max_steps=steps,
                                               graphed=graphed)
            except RuntimeError as e:  # a setting this torch cannot run
                sys.stderr.write(f"torch_mlp: {n} failed, left out: {e}\n")
                result[str(n)] = -1.0
                continue
            rate = rows / secs if secs > 0 else 0.0
            if result[str(n)] >= 0:
                result[str(n)] = max(result[str(n)], rate)
    return result


def blas_info():
    """Which BLAS torch's CPU matmuls go through: the build's BLAS_INFO and
    the BLAS library actually mapped into this process (Debian's torch uses
    whatever libblas.so.3 alternative is installed)."""
    m = re.search(r"BLAS_INFO=([^,\s]+)", torch.__config__.show())
    mapped = set()
    try:
        with open("/proc/self/maps") as f:
            for line in f:
                path = line.split()[-1] if len(line.split()) >= 6 else ""
                name = os.path.basename(path).lower()
                if any(k in name for k in ("blas", "mkl", "blis", "dnnl")):
                    mapped.add(os.path.realpath(path))
    except OSError:
        pass
    return {"build": m.group(1) if m else None, "mapped": sorted(mapped),
            "core": openblas_core(mapped)}


def openblas_core(mapped):
    """The kernels OpenBLAS picked for this CPU (openblas_get_corename),
    or None without OpenBLAS. Debian 12's 0.3.21 picks Haswell (AVX2) on
    a Zen 4 EPYC that has AVX-512; OPENBLAS_CORETYPE=SkylakeX makes it
    use its AVX-512 kernels there (bench/README.md)."""
    for path in mapped:
        if "openblas" not in os.path.basename(path):
            continue
        try:
            lib = ctypes.CDLL(path)
            lib.openblas_get_corename.restype = ctypes.c_char_p
            return lib.openblas_get_corename().decode()
        except (OSError, AttributeError):
            return None
    return None


def parse_args(argv):
    p = argparse.ArgumentParser(
        description="Train flatline's benchmark MLP with PyTorch (on the CPU, "
        "or a CUDA GPU with --device cuda) and print one JSON line of results.")
    p.add_argument("--layers", default="784,256,10",
                   help="layer sizes, input first, classes last "
                   "(default 784,256,10)")
    p.add_argument("--batch", type=int, default=128)
    p.add_argument("--epochs", type=int, default=2)
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--threads", default="best",
                   help="torch.set_num_threads(N), or 'best': try 1 and 2 on "
                   "a short run and keep the faster (default best)")
    p.add_argument("--device", default="cpu",
                   help="cpu (default), cuda or cuda:N")
    p.add_argument("--adam", default="best",
                   choices=["best", "default", "foreach", "fused",
                            "fused+graph"],
                   help="on a GPU: Adam's implementation (fused+graph: the "
                   "whole step captured as a CUDA graph), or 'best': try "
                   "the three on a short run and keep the fastest (default "
                   "best); on the CPU, torch's default is used")
    p.add_argument("--probe-samples", type=int, default=None,
                   help="rows trained per timed try for --threads/--adam "
                   "best (default 6400 on the CPU, 25600 on a GPU; at least "
                   "5 batches)")
    p.add_argument("--data-dir", default=DATA_DIR)
    p.add_argument("--name", default=None, help="job name echoed in the output")
    a = p.parse_args(argv)
    try:
        a.sizes = [int(s) for s in a.layers.split(",")]
    except ValueError:
        p.error(f"--layers: not a comma-separated list of sizes: {a.layers}")
    if len(a.sizes) < 2 or min(a.sizes) < 1:
        p.error("--layers needs at least an input and an output size")
    try:
        a.device = torch.device(a.device)
    except RuntimeError as e:
        p.error(f"--device: {e}")
    if a.device.type == "cuda" and not torch.cuda.is_available():
        p.error("--device cuda: this torch sees no CUDA GPU "
                f"(torch {torch.__version__})")
    if a.device.type not in ("cpu", "cuda"):
        p.error("--device takes cpu or cuda[:N]")
    if a.probe_samples is None:
        a.probe_samples = 25600 if a.device.type == "cuda" else 6400
    if a.batch < 1 or a.epochs < 1 or a.probe_samples < 1:
        p.error("--batch, --epochs and --probe-samples must be >= 1")
    if a.threads != "best":
        try:
            a.threads = int(a.threads)
        except ValueError:
            p.error(f"--threads: expected a number or 'best', got {a.threads}")
        if a.threads < 1:
            p.error("--threads must be >= 1")
    return a


def main(argv):
    a = parse_args(argv)
    t_load = time.perf_counter()
    x_train, y_train = load_split(a.data_dir, "train", a.device)
    x_test, y_test = load_split(a.data_dir, "t10k", a.device)
    load_seconds = time.perf_counter() - t_load
    if x_train.shape[1] != a.sizes[0]:
        raise SystemExit(f"torch_mlp: the data have {x_train.shape[1]} "
                         f"features; --layers starts with {a.sizes[0]}")
    if int(y_train.max()) >= a.sizes[-1]:
        raise SystemExit(f"torch_mlp: labels go up to {int(y_train.max())}; "
                         f"--layers ends with {a.sizes[-1]} classes")

    result = None
    adam = "default"
    gpu = a.device.type == "cuda"
    if gpu:
        threads = torch.get_num_threads()
        if a.adam == "best":
            result = probe(["foreach", "fused", "fused+graph"], lambda c: c,
                           a.sizes, x_train, y_train, a.batch, a.seed,
                           a.probe_samples)
            adam = max(result, key=result.get)
        else:
            adam = a.adam
        setting = f"cuda, Adam {adam}"
    else:
        if a.threads == "best":
            def use_threads(n):
                torch.set_num_threads(n)
                return "default"
            result = probe([1, 2], use_threads, a.sizes, x_train, y_train,
                           a.batch, a.seed, a.probe_samples)
            threads = int(max(result, key=result.get))
        else:
            threads = a.threads
        torch.set_num_threads(threads)
        setting = f"{threads} thread" + ("s" if threads > 1 else "")
    best = result is not None

    model = build_model(a.sizes, a.seed, a.device)
    opt = make_optimizer(model, adam)
    loss_fn = torch.nn.CrossEntropyLoss()
    graphed = make_graphed(adam, model, opt, loss_fn, x_train, y_train,
                           a.batch)
    gen = torch.Generator(device=a.device).manual_seed(a.seed)
    epochs = []
    for e in range(1, a.epochs + 1):
        secs, rows, loss, acc = train_epoch(model, opt, loss_fn, x_train,
                                            y_train, a.batch, gen,
                                            graphed=graphed)
        val_loss, val_acc = evaluate(model, loss_fn, x_test, y_test, a.batch)
        epochs.append({"epoch": e, "loss": loss, "accuracy": acc,
                       "val_loss": val_loss, "val_accuracy": val_acc,
                       "train_seconds": secs, "samples_per_s": rows / secs})

    rates = [ep["samples_per_s"] for ep in epochs]
    steady = rates[1:] if len(rates) > 1 else rates
    out = {
        "event": "result",
        "framework": "pytorch",
        "torch_version": torch.__version__,
        "python": platform.python_version(),
        "job": a.name or ("mlp-" + "-".join(map(str, a.sizes))),
        "layers": a.sizes,
        "batch": a.batch,
        "epochs": a.epochs,
        "seed": a.seed,
        "device": str(a.device),
        "gpu": torch.cuda.get_device_name(a.device) if gpu else None,
        "threads": threads,
        "adam": adam,
        "setting": setting,
        "threads_mode": "best" if best else "fixed",
        "threads_probe_samples_per_s": result,
        "blas": None if gpu else blas_info(),
        "import_seconds": IMPORT_SECONDS,
        "load_seconds": load_seconds,
        "n_train": int(x_train.shape[0]),
        "n_test": int(x_test.shape[0]),
        "per_epoch": epochs,
        # Same rule as bench/run.sh: mean over epochs after the first (the
        # first includes warm-up), or the only epoch.
        "samples_per_s": sum(steady) / len(steady),
        "test_accuracy": epochs[-1]["val_accuracy"],
    }
    print(json.dumps(out), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
