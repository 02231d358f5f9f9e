"""Mean test accuracy of each shipped config over several seeds (the accuracy table of docs/configs.md).

.venv/bin/python benchmarks/accuracy.py [--seeds 5] [CONFIG ...]   (default: every configs/*.yaml)
"""

from __future__ import annotations

import argparse
import time
from dataclasses import replace
from pathlib import Path

import numpy as np

from nnapp.config import load_config
from nnapp.data.datasets import load_dataset
from nnapp.training.evaluate import summary_metrics
from nnapp.training.trainer import train

ROOT = Path(__file__).resolve().parent.parent


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("configs", nargs="*", type=Path, help="config files (default: configs/*.yaml)")
    args = parser.parse_args()
    print("| config | mean test acc | min | max | mean epochs | mean train s |")
    print("|---|---|---|---|---|---|")
    for path in args.configs or sorted((ROOT / "configs").glob("*.yaml")):
        loaded = load_config(path)
        accs, epochs, seconds = [], [], []
        for seed in range(args.seeds):
            cfg = replace(loaded.config, seed=seed)
            data = load_dataset(cfg.data, seed, ROOT)
            t0 = time.perf_counter()
            result = train(cfg, data)
            seconds.append(time.perf_counter() - t0)
            accs.append(summary_metrics(result.params, data)["test_acc"])
            epochs.append(result.state.epoch)
        print(
            f"| {path.name} | {np.mean(accs):.4f} | {min(accs):.4f} | {max(accs):.4f} "
            f"| {np.mean(epochs):.0f} | {np.mean(seconds):.2f} |"
        )


if __name__ == "__main__":
    main()
