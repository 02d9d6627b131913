#!/usr/bin/env python3
"""Learning-rate golden values from PyTorch's own schedulers, for tests/SharpLM.Training.Tests.

What it is: the warmup + cosine schedule of SharpLM.Training.Optim.CosineSchedule, produced by an independent
implementation — torch.optim.lr_scheduler.SequentialLR of LinearLR (warmup: start_factor 1/W, end_factor 1,
W-1 iterations, so step s < W gets lr·(s+1)/W) and CosineAnnealingLR (T_max = total - W, eta_min = floor) —
stepped once per optimizer step, recording optimizer.param_groups[0]["lr"] before each step.
PyTorch computes the cosine recursively, so values agree with the closed form to ~1e-12, not bit for bit.
The warmup-stable-decay schedule has no PyTorch scheduler; its tests use hand-worked values.

Run: /usr/bin/python3 reference/formats/make_schedules.py   (torch 1.13.0a0 from Debian python3-torch)
Output: tests/SharpLM.Training.Tests/Fixtures/cosine_schedule.json
"""
import json
import os
import warnings

import torch

CASES = [
    # (max_lr, min_lr, warmup, total)
    (6e-4, 6e-5, 10, 100),
    (1.0, 0.0, 1, 50),
    (3e-3, 3e-4, 25, 60),
]


def run(max_lr, min_lr, warmup, total):
    p = torch.nn.Parameter(torch.zeros(1))
    opt = torch.optim.SGD([p], lr=max_lr)
    warm = torch.optim.lr_scheduler.LinearLR(opt, start_factor=1.0 / warmup, end_factor=1.0, total_iters=max(warmup - 1, 0))
    cos = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=total - warmup, eta_min=min_lr)
    sched = torch.optim.lr_scheduler.SequentialLR(opt, schedulers=[warm, cos], milestones=[warmup])
    lrs = []
    for _ in range(total):
        lrs.append(opt.param_groups[0]["lr"])
        opt.step()
        sched.step()
    return lrs


def main():
    warnings.simplefilter("ignore")
    out = {"torch_version": torch.__version__, "cases": []}
    for max_lr, min_lr, warmup, total in CASES:
        out["cases"].append({"max_lr": max_lr, "min_lr": min_lr, "warmup": warmup, "total": total, "lr": run(max_lr, min_lr, warmup, total)})
    here = os.path.dirname(os.path.abspath(__file__))
    dst = os.path.join(here, "..", "..", "tests", "SharpLM.Training.Tests", "Fixtures")
    os.makedirs(dst, exist_ok=True)
    with open(os.path.join(dst, "cosine_schedule.json"), "w") as f:
        json.dump(out, f, indent=1)
        f.write("\n")


if __name__ == "__main__":
    main()
