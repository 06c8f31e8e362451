#!/usr/bin/env python3
"""Trains the same models on the same data with the same hyper-parameters in PyTorch (CPU) and
in tessera-trainer, at one thread and at two, and prints samples/s, the ratios the trainer is
held to and the final losses; then the transformer on the trainer's two CPU backends, and the
peak memory of re-executing one segment on the reference backend.

Data: the classic digits set (1 797 8x8 images, grey levels scaled by 1/16) that both smartcore
(tessera-trainer) and scikit-learn ship. Models, as the trainer builds them: an MLP 64 -> 64
(ReLU) -> 10, and a CNN of two 3x3 convolutions (8 and 16 channels, zero padding, ReLU, 2x2
max-pooling) and a linear classifier; uniform +-1/sqrt(fan_in) initialisation, plain SGD, mean
cross-entropy, a fresh permutation each epoch.

Run it through scripts/compare-pytorch.sh, which builds the trainer and installs torch.
"""
import os
import re
import subprocess
import sys
import tempfile
import time

import numpy as np
import torch
from sklearn.datasets import load_digits

BATCH, LR, SEED = 64, 0.1, 7
MODELS = {
    # name: (trainer --model, trainer --widths, steps)
    "mlp": ("mlp", "64", 2000),
    "cnn": ("cnn", "8,16", 300),
}


def torch_model(name):
    if name == "mlp":
        return torch.nn.Sequential(torch.nn.Linear(64, 64), torch.nn.ReLU(), torch.nn.Linear(64, 10))
    return torch.nn.Sequential(
        torch.nn.Unflatten(1, (1, 8, 8)),
        torch.nn.Conv2d(1, 8, 3, padding=1), torch.nn.ReLU(), torch.nn.MaxPool2d(2),
        torch.nn.Conv2d(8, 16, 3, padding=1), torch.nn.ReLU(), torch.nn.MaxPool2d(2),
        torch.nn.Flatten(), torch.nn.Linear(16 * 2 * 2, 10))


def torch_run(name, threads):
    steps = MODELS[name][2]
    torch.set_num_threads(threads)
    torch.manual_seed(SEED)
    digits = load_digits()
    x = torch.tensor(digits.data / 16.0, dtype=torch.float32)
    y = torch.tensor(digits.target, dtype=torch.int64)
    model = torch_model(name)
    optimiser = torch.optim.SGD(model.parameters(), lr=LR)
    loss_fn = torch.nn.CrossEntropyLoss()
    generator = np.random.default_rng(SEED)
    order, position, losses = generator.permutation(len(y)), 0, []
    started = time.perf_counter()
    for _ in range(steps):
        if position + BATCH > len(order):
            order, position = np.concatenate([order[position:], generator.permutation(len(y))]), 0
        batch = torch.from_numpy(order[position:position + BATCH])
        position += BATCH
        optimiser.zero_grad()
        loss = loss_fn(model(x[batch]), y[batch])
        loss.backward()
        optimiser.step()
        losses.append(loss.item())
    seconds = time.perf_counter() - started
    return steps * BATCH / seconds, float(np.mean(losses[-100:]))


def trainer(binary, store, threads, *arguments):
    command = [binary, "--store", store, "--threads", str(threads), *arguments]
    return subprocess.run(command, capture_output=True, text=True, check=True)


def trainer_run(binary, store, name, backend, threads, extra=()):
    model, widths, steps = MODELS.get(name, (None, None, None))
    arguments = extra or ("--dataset", "digits", "--model", model, "--widths", widths,
                          "--learning-rate", str(LR), "--batch-size", str(BATCH), "--steps", str(steps),
                          "--checkpoint-every", "100", "--seed", str(SEED))
    result = trainer(binary, store, threads, "train", *arguments, "--backend", backend)
    match = re.search(r"([\d.]+) samples/s, last segment's mean loss ([\d.]+)", result.stderr)
    if not match:
        sys.exit(f"unexpected trainer output:\n{result.stderr}")
    return float(match.group(1)), float(match.group(2)), result.stdout


def main():
    binary = sys.argv[1]
    store = tempfile.mkdtemp(prefix="tessera-compare-")
    for name in MODELS:
        model, widths, steps = MODELS[name]
        print(f"\n{name.upper()} {widths} on digits, batch {BATCH}, {steps} SGD steps, lr {LR}")
        print(f"{'run':42} {'samples/s':>12} {'final loss':>11}")
        for threads in (1, 2):
            reference = trainer_run(binary, store, name, "reference", threads)
            cpu = trainer_run(binary, store, name, "cpu", threads)
            pytorch = torch_run(name, threads)
            for label, (rate, loss, *_) in [("tessera-trainer reference", reference),
                                             ("tessera-trainer cpu", cpu),
                                             (f"pytorch {torch.__version__}", pytorch)]:
                print(f"{label + f' ({threads} thread' + ('s)' if threads > 1 else ')'):42} "
                      f"{rate:12.0f} {loss:11.4f}")
            print(f"ratio reference / pytorch at {threads} thread(s): {reference[0] / pytorch[0]:.3f}")

    text = os.path.join(store, "corpus.txt")
    with open(text, "w") as corpus:
        corpus.write("the chain keeps the commitments; the trainer keeps the weights. " * 64)
    cid = trainer(binary, store, 1, "cid", text, "--add").stdout.split()[0]
    arguments = ("--dataset-cid", cid, "--model", "transformer", "--widths", "32,64,2",
                 "--learning-rate", "0.05", "--batch-size", "16", "--steps", "40",
                 "--checkpoint-every", "20", "--seed", "1")
    print("\nCHAR-TRANSFORMER context 32, width 64, 2 blocks, batch 16, 40 steps")
    rates = {}
    for threads in (1, 2):
        for backend in ("reference", "cpu"):
            rate, loss, stdout = trainer_run(binary, store, None, backend, threads, arguments)
            rates[backend, threads] = (rate, stdout)
            print(f"{f'tessera-trainer {backend} ({threads} thread(s))':42} {rate:12.0f} {loss:11.4f}")
        print(f"ratio reference / cpu at {threads} thread(s): "
              f"{rates['reference', threads][0] / rates['cpu', threads][0]:.3f}")

    # A validator's work in a dispute: one segment re-executed from its agreed state.
    first = [line for line in rates["reference", 1][1].splitlines() if line.startswith("{")][0]
    state = re.search(r'"state_cid":"([^"]+)"', first).group(1)
    digest = re.search(r'"weights_digest":"([^"]+)"', first).group(1)
    # A fresh interpreter waits for the re-execution alone, so its children's peak is that run's.
    command = [binary, "--store", store, "--threads", "1", "verify", *arguments, "--backend", "reference",
               "--state", state, "--digest", digest, "--from", "20", "--to", "40"]
    peak = subprocess.run([sys.executable, "-c", MEASURE_PEAK, *command], capture_output=True, text=True,
                          check=True).stdout.strip()
    print(f"peak memory (max RSS) of re-executing steps 20..40 of the transformer on the reference "
          f"backend: {int(peak) / 1024:.1f} MiB")


MEASURE_PEAK = """
import resource, subprocess, sys
subprocess.run(sys.argv[1:], check=True, capture_output=True)
print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)
"""

if __name__ == "__main__":
    main()
