"""What one periodic gradient check costs (start.run_gradcheck at a run's initial weights, its rows).

.venv/bin/python benchmarks/gradcheck_cost.py [--repeats 15] [--against OLD_GRADCHECK_PY]

CPU time (time.process_time) per check, median and quartiles over `repeats` rounds, each round timing
enough checks for about 20 ms. With --against (a copy of another version's nnapp/core/gradcheck.py,
importing nnapp from here), the two versions alternate within every round, so that the load of a
shared machine falls on both alike, and the ratio of the medians is printed.
"""

from __future__ import annotations

import argparse
import importlib.util
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from types import ModuleType

import numpy as np

from nnapp.config import load_config
from nnapp.core import gradcheck, network
from nnapp.orchestration.job import load_data
from nnapp.training import start

ROOT = Path(__file__).resolve().parent.parent
CASES = (("iris", ()), ("digits", ()), ("breast_cancer", ()), ("digits", ("model.hidden=1024",)))


def _module(path: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location("gradcheck_against", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # its dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


def _one_check(config: str, overrides: tuple[str, ...], module: ModuleType) -> Callable[[], object]:
    loaded = load_config(ROOT / "configs" / f"{config}.yaml", list(overrides))
    cfg, data = loaded.config, load_data(loaded)
    params = network.views(start.init_state(cfg, data).flat, *start.dimensions(data, cfg))
    rows = start.gradcheck_rows(cfg, data)
    g = cfg.gradcheck
    coords = None if g.coords == "all" else int(g.coords)
    batch_rows = min(cfg.train.batch_size, len(data.y_train))

    def check() -> object:
        return module.check_gradients(
            params, data.X_train[rows], data.y_train[rows], cfg.optim.weight_decay, eps=g.eps,
            coords=coords, tol=g.tol, fail=g.fail, rng=np.random.default_rng(1),
            directional=g.directional, batch_rows=batch_rows,
        )  # fmt: skip

    return check


def _per_check_ms(check: Callable[[], object], times: int) -> float:
    t0 = time.process_time()
    for _ in range(times):
        check()
    return (time.process_time() - t0) / times * 1e3


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=15)
    parser.add_argument("--against", help="another version's gradcheck.py, to compare with")
    args = parser.parse_args()
    versions = {"this": gradcheck}
    if args.against:
        versions["against"] = _module(args.against)
    for config, overrides in CASES:
        checks = {name: _one_check(config, overrides, module) for name, module in versions.items()}
        times = max(1, round(0.02 / max(_per_check_ms(checks["this"], 1) / 1e3, 1e-5)))
        samples: dict[str, list[float]] = {name: [] for name in checks}
        for _ in range(args.repeats):
            for name, check in checks.items():
                samples[name].append(_per_check_ms(check, times))
        shown = []
        for name, values in samples.items():
            q1, median, q3 = statistics.quantiles(values, n=4)
            shown.append(f"{name} {median:.3f} ms [{q1:.3f}-{q3:.3f}]")
        ratio = ""
        if "against" in samples:
            times_faster = statistics.median(samples["against"]) / statistics.median(samples["this"])
            ratio = f", against/this {times_faster:.2f}x"
        print(
            f"{' '.join((config, *overrides))}: {', '.join(shown)}{ratio} ({args.repeats} x {times} checks)"
        )


if __name__ == "__main__":
    main()
