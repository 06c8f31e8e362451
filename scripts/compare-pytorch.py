#!/usr/bin/env python3
"""Trains the same MLP on the same data with the same hyper-parameters in PyTorch (CPU) and
in tessera-trainer, and prints samples/s for both, their ratio and both final losses.

Data: the classic digits set (1 797 8x8 images, grey levels scaled by 1/16) that both
smartcore (tessera-trainer) and scikit-learn ship. Model: 64 -> HIDDEN (ReLU) -> 10, uniform
+-1/sqrt(fan_in) initialisation, plain SGD, mean cross-entropy, a fresh permutation each
epoch. PyTorch runs on one thread, like the trainer's reference mode; a second PyTorch row
uses every core.

Run it through scripts/compare-pytorch.sh, which builds the trainer and installs torch.
"""
import os
import re
import subprocess
import sys
import time

import numpy as np
import torch
from sklearn.datasets import load_digits

HIDDEN, BATCH, STEPS, LR, SEED = 64, 64, 2000, 0.1, 7


def torch_run(threads):
    torch.set_num_threads(threads)
    torch.manual_seed(SEED)
    digits = load_digits()
    x = torch.tensor(digits.data / 16.0, dtype=torch.float32)
    y = torch.tensor(digits.target, dtype=torch.int64)
    model = torch.nn.Sequential(torch.nn.Linear(64, HIDDEN), torch.nn.ReLU(), torch.nn.Linear(HIDDEN, 10))
    optimiser = torch.optim.SGD(model.parameters(), lr=LR)
    loss_fn = torch.nn.CrossEntropyLoss()
    generator = np.random.default_rng(SEED)
    order, position, losses = generator.permutation(len(y)), 0, []
    started = time.perf_counter()
    for _ in range(STEPS):
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
    return STEPS * BATCH / seconds, float(np.mean(losses[-100:]))


def trainer_run(trainer, backend):
    command = [trainer, "--store", os.environ.get("TESSERA_STORE", "/tmp/tessera-compare-store"), "train",
               "--dataset", "digits", "--model", "mlp", "--widths", str(HIDDEN), "--learning-rate", str(LR),
               "--batch-size", str(BATCH), "--steps", str(STEPS), "--checkpoint-every", "100",
               "--seed", str(SEED), "--backend", backend]
    result = subprocess.run(command, capture_output=True, text=True, check=True)
    match = re.search(r"([\d.]+) samples/s, last segment's mean loss ([\d.]+)", result.stderr)
    if not match:
        sys.exit(f"unexpected trainer output:\n{result.stderr}")
    return float(match.group(1)), float(match.group(2))


def main():
    trainer = sys.argv[1]
    rows = [
        ("tessera-trainer reference (1 thread)", *trainer_run(trainer, "reference")),
        ("tessera-trainer cpu (1 thread)", *trainer_run(trainer, "cpu")),
        ("pytorch %s (1 thread)" % torch.__version__, *torch_run(1)),
        ("pytorch %s (%d threads)" % (torch.__version__, os.cpu_count()), *torch_run(os.cpu_count())),
    ]
    print(f"MLP 64-{HIDDEN}-10 on digits, batch {BATCH}, {STEPS} steps, SGD lr {LR}")
    print(f"{'run':42} {'samples/s':>12} {'final loss':>11}")
    for name, rate, loss in rows:
        print(f"{name:42} {rate:12.0f} {loss:11.4f}")
    reference, torch_one = rows[0][1], rows[2][1]
    print(f"ratio reference / pytorch (1 thread): {reference / torch_one:.3f}")
    print(f"ratio cpu / pytorch (1 thread): {rows[1][1] / torch_one:.3f}")


if __name__ == "__main__":
    main()
