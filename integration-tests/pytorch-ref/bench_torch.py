#!/usr/bin/python3
"""CPU training-step throughput of the plain-PyTorch reference (baseline for `lowrank bench`).

  OMP_WAIT_POLICY=PASSIVE OMP_NUM_THREADS=2 /usr/bin/python3 bench_torch.py \
      --preset 60m --layer cola --seq-len 256 --batch 8 --steps 3 --threads 2

One step = forward + mean next-token CE + backward + global-norm clip 0.5 +
AdamW (lr 1e-3, betas 0.9/0.999, eps 1e-8, wd 0.01), float32, on random tokens.
Two warm-up steps are run first and not timed. Weights use the methods.md init.
Prints one JSON line: tokens_per_s (batch*seq_len / median step), step_ms_median, ...
"""

import argparse
import json
import os
import platform
import statistics
import sys
import time

import torch

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import llama_ref as ref  # noqa: E402


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--preset", required=True, choices=sorted(ref.PRESETS))
    ap.add_argument("--layer", required=True, choices=["full", "cola"])
    ap.add_argument("--seq-len", type=int, default=256)
    ap.add_argument("--batch", type=int, default=8)
    ap.add_argument("--steps", type=int, default=3)
    ap.add_argument("--warmup", type=int, default=2)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--vocab", type=int, default=32000)
    ap.add_argument("--seed", type=int, default=0)
    a = ap.parse_args()
    torch.set_num_threads(a.threads)

    d, ff, L, H, r, lract = ref.PRESETS[a.preset]
    cfg = ref.make_config(d, ff, L, H, a.vocab, "cola" if a.layer == "cola" else "llama",
                          rank=r, only_lr_act=lract, max_pos=max(2048, a.seq_len))
    params = {k: v.requires_grad_(True) for k, v in ref.init_params(cfg, a.seed, "spec").items()}
    model = ref.Model(cfg, params)
    opt = torch.optim.AdamW(list(params.values()), lr=1e-3, betas=(0.9, 0.999), eps=1e-8,
                            weight_decay=0.01)
    g = torch.Generator().manual_seed(a.seed + 1)
    V = a.vocab

    def step():
        win = torch.randint(V, (a.batch, a.seq_len + 1), generator=g)
        t0 = time.perf_counter()
        logits = model.forward(win[:, :-1])
        loss = torch.nn.functional.cross_entropy(logits.reshape(-1, V), win[:, 1:].reshape(-1))
        loss.backward()
        torch.nn.utils.clip_grad_norm_(params.values(), 0.5)
        opt.step()
        opt.zero_grad(set_to_none=True)
        return time.perf_counter() - t0, float(loss)

    for _ in range(a.warmup):
        step()
    times, losses = [], []
    for _ in range(a.steps):
        dt, l = step()
        times.append(dt)
        losses.append(l)
    med = statistics.median(times)
    print(json.dumps({
        "preset": a.preset, "layer": a.layer, "only_lr_act": lract if a.layer == "cola" else None,
        "seq_len": a.seq_len, "batch": a.batch, "steps": a.steps, "vocab": V,
        "params": sum(t.numel() for t in params.values()),
        "tokens_per_s": a.batch * a.seq_len / med,
        "step_ms_median": med * 1e3,
        "step_ms": [round(t * 1e3, 1) for t in times],
        "last_loss": losses[-1],
        "torch": torch.__version__, "threads": torch.get_num_threads(),
        "cpu": platform.processor() or platform.machine(),
    }))


if __name__ == "__main__":
    main()
