#!/usr/bin/env python3
"""Trains the same models on the same data with the same hyper-parameters in PyTorch (CPU) and
in tessera-trainer, at one thread and at two, with SGD, Adam and AdamW, and prints samples/s,
the ratios the trainer is held to and the final losses; then what Adam's and AdamW's step costs
over SGD's on the trainer's backends; then the transformer on the trainer's two CPU backends, and
the peak memory of re-executing one segment on the reference backend. Every figure is the best
of REPEATS runs, alternated with the runs it is compared with (`alternated`).

Data: the classic digits set (1 797 8x8 images, grey levels scaled by 1/16) that both smartcore
(tessera-trainer) and scikit-learn ship. Models, as the trainer builds them: an MLP 64 -> 64
(ReLU) -> 10, and a CNN of two 3x3 convolutions (8 and 16 channels, zero padding, ReLU, 2x2
max-pooling) and a linear classifier; uniform +-1/sqrt(fan_in) initialisation, mean
cross-entropy, a fresh permutation each epoch. Optimisers, as offchain-trainer/src/optim.rs
steps them: plain SGD; Adam (weight decay added to the gradient) and AdamW (weight decay
applied to the weights), both with bias correction, which is torch.optim.Adam's and AdamW's
update with the same learning rate, betas, eps and weight decay.

Run it through scripts/compare-pytorch.sh, which builds the trainer and installs torch.
"""
import os
import re
import resource
import subprocess
import sys
import tempfile
import time

import numpy as np
import torch
from sklearn.datasets import load_digits

BATCH, SEED = 64, 7
MODELS = {
    # name: (trainer --model, trainer --widths, steps)
    "mlp": ("mlp", "64", 2000),
    "cnn": ("cnn", "8,16", 300),
}
BETAS, EPSILON = (0.9, 0.999), 1e-8
TRANSFORMER_SGD_RATE = 0.05
OPTIMISERS = {
    # name: (trainer --optimizer, learning rate, weight decay)
    "sgd": ("sgd", 0.1, 0.0),
    "adam": ("adam", 0.01, 0.0),
    "adamw": ("adamw", 0.01, 0.01),
}
# Runs behind each figure, alternated with the runs it is compared with; the fastest counts,
# the one that other work on the machine slowed least.
REPEATS = 5


def describe(optimiser, learning_rate=None):
    kind, rate, decay = OPTIMISERS[optimiser]
    rate = learning_rate or rate
    if kind == "sgd":
        return f"SGD, lr {rate}"
    name = "Adam" if kind == "adam" else "AdamW"
    return f"{name}, lr {rate}, betas {BETAS}, eps {EPSILON:g}, weight decay {decay}"


def optimiser_arguments(optimiser, learning_rate=None):
    kind, rate, decay = OPTIMISERS[optimiser]
    arguments = ("--optimizer", kind, "--learning-rate", str(learning_rate or rate))
    if kind == "sgd":
        return arguments
    return (*arguments, "--beta1", str(BETAS[0]), "--beta2", str(BETAS[1]), "--epsilon", str(EPSILON),
            "--weight-decay", str(decay))


def torch_model(name):
    if name == "mlp":
        return torch.nn.Sequential(torch.nn.Linear(64, 64), torch.nn.ReLU(), torch.nn.Linear(64, 10))
    return torch.nn.Sequential(
        torch.nn.Unflatten(1, (1, 8, 8)),
        torch.nn.Conv2d(1, 8, 3, padding=1), torch.nn.ReLU(), torch.nn.MaxPool2d(2),
        torch.nn.Conv2d(8, 16, 3, padding=1), torch.nn.ReLU(), torch.nn.MaxPool2d(2),
        torch.nn.Flatten(), torch.nn.Linear(16 * 2 * 2, 10))


def torch_optimiser(optimiser, parameters):
    kind, rate, decay = OPTIMISERS[optimiser]
    if kind == "sgd":
        return torch.optim.SGD(parameters, lr=rate)
    step = torch.optim.Adam if kind == "adam" else torch.optim.AdamW
    return step(parameters, lr=rate, betas=BETAS, eps=EPSILON, weight_decay=decay)


def torch_run(name, threads, optimiser):
    steps = MODELS[name][2]
    torch.set_num_threads(threads)
    torch.manual_seed(SEED)
    digits = load_digits()
    x = torch.tensor(digits.data / 16.0, dtype=torch.float32)
    y = torch.tensor(digits.target, dtype=torch.int64)
    model = torch_model(name)
    optimiser = torch_optimiser(optimiser, model.parameters())
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


def children_cpu_seconds():
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def digits_arguments(name):
    model, widths, steps = MODELS[name]
    return ("--dataset", "digits", "--model", model, "--widths", widths, "--batch-size", str(BATCH),
            "--steps", str(steps), "--checkpoint-every", "100", "--seed", str(SEED))


def trainer_run(binary, store, name, backend, threads, extra=(), optimiser="sgd", learning_rate=None):
    arguments = extra or digits_arguments(name)
    cpu_seconds = children_cpu_seconds()
    result = trainer(binary, store, threads, "train", *arguments,
                     *optimiser_arguments(optimiser, learning_rate), "--backend", backend)
    match = re.search(r"([\d.]+) samples/s, last segment's mean loss ([\d.]+)", result.stderr)
    if not match:
        sys.exit(f"unexpected trainer output:\n{result.stderr}")
    cpu_seconds = children_cpu_seconds() - cpu_seconds
    return float(match.group(1)), float(match.group(2)), result.stdout, cpu_seconds


def alternated(runs):
    """Calls each of `runs` (label: function) REPEATS times, in rounds that call every one once
    in turn, so that load that comes and goes falls on all of them; returns each label's results."""
    results = {label: [] for label in runs}
    for _ in range(REPEATS):
        for label, run in runs.items():
            results[label].append(run())
    return results


def fastest(results):
    """The run of most samples/s among one label's results (samples/s first in each)."""
    return max(results, key=lambda result: result[0])


def thread_label(threads):
    return f" ({threads} thread" + ("s)" if threads > 1 else ")")


def compare_with_pytorch(binary, store):
    for name, (_, widths, steps) in MODELS.items():
        for optimiser in OPTIMISERS:
            print(f"\n{name.upper()} {widths} on digits, batch {BATCH}, {steps} steps, "
                  f"{describe(optimiser)}, best of {REPEATS} alternated runs")
            print(f"{'run':42} {'samples/s':>12} {'final loss':>11}")
            for threads in (1, 2):
                pytorch = f"pytorch {torch.__version__}"
                results = alternated({
                    "tessera-trainer reference":
                        lambda: trainer_run(binary, store, name, "reference", threads, optimiser=optimiser),
                    "tessera-trainer cpu":
                        lambda: trainer_run(binary, store, name, "cpu", threads, optimiser=optimiser),
                    pytorch: lambda: torch_run(name, threads, optimiser),
                })
                best = {label: fastest(runs) for label, runs in results.items()}
                for label, (rate, loss, *_) in best.items():
                    print(f"{label + thread_label(threads):42} {rate:12.0f} {loss:11.4f}")
                print(f"ratio reference / pytorch at {threads} thread(s): "
                      f"{best['tessera-trainer reference'][0] / best[pytorch][0]:.3f}")


def adam_step_cost(binary, store, workloads):
    """Times each optimiser on each workload, backend and thread count: REPEATS rounds, each
    running SGD, Adam and AdamW once in turn, so load that comes and goes falls on all three.
    Prints the best samples/s and its ratio to SGD's, and the least CPU time (user and system)
    of a whole run per step, which other work on the machine hardly changes, and what the
    optimiser adds to it over SGD: its step with the host round trip of weights and moments,
    and the moments it stores with each commitment."""
    print(f"\nADAM'S STEP OVER SGD'S: best of {REPEATS} alternated runs each, same model, data, "
          f"batch, steps and seed")
    print(f"{'workload':30} {'backend, threads':18} {'optimiser':>9} {'samples/s':>10} "
          f"{'/ SGD':>6} {'CPU µs/step':>12} {'+ over SGD':>11}")
    for workload, (steps, arguments, learning_rates) in workloads.items():
        for backend in ("reference", "cpu"):
            for threads in (1, 2):
                results = alternated({
                    optimiser: lambda optimiser=optimiser: trainer_run(
                        binary, store, None, backend, threads, arguments, optimiser,
                        learning_rates.get(optimiser))
                    for optimiser in OPTIMISERS})
                rates = {optimiser: [result[0] for result in runs] for optimiser, runs in results.items()}
                cpu = {optimiser: [result[3] / steps * 1e6 for result in runs]
                       for optimiser, runs in results.items()}
                for optimiser in OPTIMISERS:
                    rate, step = max(rates[optimiser]), min(cpu[optimiser])
                    print(f"{workload:30} {f'{backend}, {threads}':18} {optimiser:>9} {rate:10.0f} "
                          f"{rate / max(rates['sgd']):6.3f} {step:12.1f} "
                          f"{step - min(cpu['sgd']):+11.1f}")


def main():
    binary = sys.argv[1]
    store = tempfile.mkdtemp(prefix="tessera-compare-")
    compare_with_pytorch(binary, store)

    text = os.path.join(store, "corpus.txt")
    with open(text, "w") as corpus:
        corpus.write("the chain keeps the commitments; the trainer keeps the weights. " * 64)
    cid = trainer(binary, store, 1, "cid", text, "--add").stdout.split()[0]
    arguments = ("--dataset-cid", cid, "--model", "transformer", "--widths", "32,64,2",
                 "--batch-size", "16", "--steps", "40", "--checkpoint-every", "20", "--seed", "1")

    workloads = {f"{name} {widths}, {steps} steps": (steps, digits_arguments(name), {})
                 for name, (_, widths, steps) in MODELS.items()}
    workloads["transformer 32,64,2, 40 steps"] = (40, arguments, {"sgd": TRANSFORMER_SGD_RATE})
    adam_step_cost(binary, store, workloads)

    print(f"\nCHAR-TRANSFORMER context 32, width 64, 2 blocks, batch 16, 40 steps, "
          f"{describe('sgd', TRANSFORMER_SGD_RATE)}, best of {REPEATS} alternated runs")
    for threads in (1, 2):
        results = alternated({
            backend: lambda backend=backend: trainer_run(binary, store, None, backend, threads, arguments,
                                                         learning_rate=TRANSFORMER_SGD_RATE)
            for backend in ("reference", "cpu")})
        best = {backend: fastest(runs) for backend, runs in results.items()}
        for backend, (rate, loss, *_) in best.items():
            print(f"{f'tessera-trainer {backend} ({threads} thread(s))':42} {rate:12.0f} {loss:11.4f}")
        print(f"ratio reference / cpu at {threads} thread(s): "
              f"{best['reference'][0] / best['cpu'][0]:.3f}")

    # A validator's work in a dispute: one segment re-executed from its agreed state (the
    # reference backend's commitments are the same in every run).
    first = [line for line in best["reference"][2].splitlines() if line.startswith("{")][0]
    state = re.search(r'"state_cid":"([^"]+)"', first).group(1)
    digest = re.search(r'"weights_digest":"([^"]+)"', first).group(1)
    # A fresh interpreter waits for the re-execution alone, so its children's peak is that run's.
    command = [binary, "--store", store, "--threads", "1", "verify", *arguments,
               *optimiser_arguments("sgd", TRANSFORMER_SGD_RATE),
               "--backend", "reference", "--state", state, "--digest", digest, "--from", "20", "--to", "40"]
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
