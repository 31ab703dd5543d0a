#!/usr/bin/python3
"""Training-step throughput of the plain-PyTorch reference (baseline for `lowrank bench`).

  OMP_WAIT_POLICY=PASSIVE OMP_NUM_THREADS=2 /usr/bin/python3 bench_torch.py \
      --preset 60m --layer cola --seq-len 256 --batch 8 --steps 3 --threads 2
  python3 bench_torch.py --device cuda --precision bf16 --attention sdpa [--compile] \
      --preset 350m --layer cola --seq-len 256 --batch 16 --steps 10

One step = forward + mean next-token CE + backward + global-norm clip 0.5 +
AdamW (lr 1e-3, betas 0.9/0.999, eps 1e-8, wd 0.01) on random tokens, float32
weights and optimizer state; --precision bf16 runs forward and loss under
torch.autocast(bfloat16) (PyTorch's standard mixed precision). --compile wraps
the forward in torch.compile (its compile time is in the warm-up steps, not the
timed ones). --attention sdpa uses F.scaled_dot_product_attention (flash
attention on GPUs) instead of the explicit masked softmax. On CUDA every step is
timed between torch.cuda.synchronize() calls; peak memory is
torch.cuda.max_memory_allocated over the timed steps.
Warm-up steps (--warmup, 2) are not timed. Weights use the methods.md init.
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
    ap.add_argument("--device", default="cpu", help="cpu or cuda[:N]")
    ap.add_argument("--precision", choices=["f32", "bf16"], default="f32")
    ap.add_argument("--compile", action="store_true", help="torch.compile the forward")
    ap.add_argument("--attention", choices=["explicit", "sdpa"], default="explicit")
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    dev = torch.device(a.device)
    cuda = dev.type == "cuda"
    if cuda:
        torch.backends.cuda.matmul.allow_tf32 = False   # f32 means f32 (the parity path's setting)
        torch.backends.cudnn.allow_tf32 = False

    d, ff, L, H, r, lract = ref.PRESETS[a.preset]
    cfg = ref.make_config(d, ff, L, H, a.vocab, "cola" if a.layer == "cola" else "llama",
                          rank=r, only_lr_act=lract, max_pos=max(2048, a.seq_len))
    params = {k: v.to(dev).requires_grad_(True) for k, v in ref.init_params(cfg, a.seed, "spec").items()}
    model = ref.Model(cfg, params)
    model.sdpa = a.attention == "sdpa"
    forward = torch.compile(model.forward) if a.compile else model.forward
    autocast = torch.autocast(device_type=dev.type, dtype=torch.bfloat16, enabled=a.precision == "bf16")
    opt = torch.optim.AdamW(list(params.values()), lr=1e-3, betas=(0.9, 0.999), eps=1e-8,
                            weight_decay=0.01)
    g = torch.Generator().manual_seed(a.seed + 1)
    V = a.vocab

    def step():
        win = torch.randint(V, (a.batch, a.seq_len + 1), generator=g).to(dev)
        if cuda:
            torch.cuda.synchronize(dev)
        t0 = time.perf_counter()
        with autocast:
            logits = forward(win[:, :-1])
            loss = torch.nn.functional.cross_entropy(logits.reshape(-1, V).float(), win[:, 1:].reshape(-1))
        loss.backward()
        torch.nn.utils.clip_grad_norm_(params.values(), 0.5)
        opt.step()
        opt.zero_grad(set_to_none=True)
        if cuda:
            torch.cuda.synchronize(dev)
        return time.perf_counter() - t0, loss.detach()

    for _ in range(a.warmup):
        step()
    if cuda:
        torch.cuda.reset_peak_memory_stats(dev)
    times, losses = [], []
    for _ in range(a.steps):
        dt, l = step()
        times.append(dt)
        losses.append(float(l))
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
        "device": str(dev), "gpu": torch.cuda.get_device_name(dev) if cuda else None,
        "precision": a.precision, "compile": a.compile, "attention": a.attention,
        "peak_bytes": torch.cuda.max_memory_allocated(dev) if cuda else None,
    }))


if __name__ == "__main__":
    main()
