#!/usr/bin/python3
"""Writes the tiny-model test fixtures of worker-runtime (deterministic).

  OMP_WAIT_POLICY=PASSIVE OMP_NUM_THREADS=2 /usr/bin/python3 make_fixtures.py [--out DIR] [--check]

Layout under DIR (default: worker-runtime/src/test/resources/fixtures):
  tokens.npy                      int32, 56 ids < 384 (3 windows of 17 + 5 dropped)
  llama-tiny/                     full-rank LLaMA
  cola-tiny/                      CoLA, only_lr_act=false (+ tokens_u16.npy, tokens_i64.npy)
  cola-tiny-lract/                CoLA, only_lr_act=true (same weights as cola-tiny)
  crnet-tiny/                     CR-Net, 3 layers (full-rank layer 0, two chained
                                  low-rank layers), betas random in +-[0.5, 1.5)
each model dir: config.json, model.safetensors (F32), expected.json
{"loss", "tokens", "seq_len"} and expected_grads.safetensors (F64), both
computed in float64 from the F32 weights cast to float64 over ../tokens.npy.

--check also runs the self-checks: autograd vs central finite differences in
float64 on 20 scalar entries per model (crnet-tiny: every cr_beta plus 8 other
entries), and the float32 vs float64 loss gap.
"""

import argparse
import json
import math
import os
import sys

import torch

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import llama_ref as ref  # noqa: E402

VOCAB, HIDDEN, FF, LAYERS, HEADS, RANK, MAXPOS, SEQ = 384, 64, 176, 2, 4, 16, 64, 16
N_TOKENS = 3 * (SEQ + 1) + 5
TOKEN_SEED = 20240601
CRNET_LAYERS = 3   # layer 0 full-rank, layers 1 and 2 chained low-rank
MODELS = [
    # dir, model_type, only_lr_act, weight seed (cola-tiny-lract reuses cola-tiny's weights), layers
    ("llama-tiny", "llama", False, 11, LAYERS),
    ("cola-tiny", "cola", False, 12, LAYERS),
    ("cola-tiny-lract", "cola", True, 12, LAYERS),
    ("crnet-tiny", "crnet", False, 13, CRNET_LAYERS),
]
# 'wide' init (see llama_ref.init_params): matrices N(0, (GAIN/sqrt(fan_in))^2)
INIT = dict(scheme="wide", gain=1.2, embed_std=1.0, head_std=0.25, norm_jitter=0.1)


def default_out():
    here = os.path.dirname(os.path.abspath(__file__))
    return os.path.normpath(os.path.join(here, "..", "..", "worker-runtime", "src", "test",
                                         "resources", "fixtures"))


def model_cfg(model_type, lract, layers=LAYERS):
    return ref.make_config(HIDDEN, FF, layers, HEADS, VOCAB, model_type,
                           rank=RANK if model_type in ("cola", "crnet") else None,
                           only_lr_act=lract, max_pos=MAXPOS)


def loss_and_grads(cfg, params32, tokens, dtype):
    params = {k: v.to(dtype).clone().requires_grad_(True) for k, v in params32.items()}
    loss, n = ref.mean_loss(ref.Model(cfg, params), tokens, SEQ, batch=64, backward=True)
    return loss, n, {k: v.grad.detach().clone() for k, v in params.items()}


def fd_check(cfg, params32, tokens, grads, n_entries=20, eps=1e-6, seed=7, always=()):
    """Central differences in float64 on n_entries scalars spread over params,
    after one entry of each name in always."""
    p64 = {k: v.to(torch.float64).clone() for k, v in params32.items()}
    model = ref.Model(cfg, p64)
    g = torch.Generator().manual_seed(seed)
    names = list(p64)
    # spread over params: every k-th name, plus embed rows that are actually used
    spread = [n for n in names if n not in always]
    pick = list(always) + [spread[int(i)] for i in torch.linspace(0, len(spread) - 1, n_entries).round().long()]
    used = sorted(set(int(t) for t in ref.windows(tokens, SEQ)[:, :-1].reshape(-1)))
    rows = []
    for name in pick:
        t = p64[name]
        if name == "model.embed_tokens.weight":
            idx = (used[int(torch.randint(len(used), (1,), generator=g))],
                   int(torch.randint(t.shape[1], (1,), generator=g)))
        else:
            idx = tuple(int(torch.randint(s, (1,), generator=g)) for s in t.shape)
        old = float(t[idx])
        t[idx] = old + eps
        lp, _ = ref.mean_loss(model, tokens, SEQ, batch=64)
        t[idx] = old - eps
        lm, _ = ref.mean_loss(model, tokens, SEQ, batch=64)
        t[idx] = old
        fd = (lp - lm) / (2 * eps)
        ag = float(grads[name][idx])
        rel = abs(ag - fd) / max(abs(ag), abs(fd), 1e-300)
        rows.append((name, idx, ag, fd, rel))
    return rows


def main():
    torch.set_num_threads(int(os.environ.get("OMP_NUM_THREADS", "2")))
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", default=default_out())
    ap.add_argument("--check", action="store_true")
    a = ap.parse_args()
    os.makedirs(a.out, exist_ok=True)

    gt = torch.Generator().manual_seed(TOKEN_SEED)
    tok = torch.randint(VOCAB, (N_TOKENS,), generator=gt).tolist()
    ref.write_npy_tokens(os.path.join(a.out, "tokens.npy"), tok, "<i4")
    tokens = ref.read_npy_tokens(os.path.join(a.out, "tokens.npy"))
    assert tokens.tolist() == tok

    summary = []
    for d, mtype, lract, seed, layers in MODELS:
        cfg = model_cfg(mtype, lract, layers)
        mdir = os.path.join(a.out, d)
        ref.save_checkpoint(mdir, cfg, ref.init_params(cfg, seed, **INIT))
        # reload from disk so that everything below starts from the stored F32 bits
        params32 = ref.load_params(mdir, ref.load_config(mdir), torch.float32)
        loss64, n, grads = loss_and_grads(cfg, params32, tokens, torch.float64)
        with open(os.path.join(mdir, "expected.json"), "w") as f:
            json.dump({"loss": loss64, "tokens": n, "seq_len": SEQ}, f)
            f.write("\n")
        ref.write_safetensors(os.path.join(mdir, "expected_grads.safetensors"), grads,
                              {"loss": repr(loss64), "tokens": n, "seq_len": SEQ,
                               "tokens_file": "../tokens.npy", "dtype": "float64"})
        if d == "cola-tiny":
            ref.write_npy_tokens(os.path.join(mdir, "tokens_u16.npy"), tok, "<u2")
            ref.write_npy_tokens(os.path.join(mdir, "tokens_i64.npy"), tok, "<i8")
            for fn in ("tokens_u16.npy", "tokens_i64.npy"):
                assert ref.read_npy_tokens(os.path.join(mdir, fn)).tolist() == tok
        line = {"model": d, "loss64": loss64, "ln_V": math.log(VOCAB), "tokens": n,
                "params": sum(t.numel() for t in params32.values())}
        if a.check:
            loss32, _, _ = loss_and_grads(cfg, params32, tokens, torch.float32)
            line["loss32_minus_loss64"] = loss32 - loss64
            if mtype == "crnet":
                betas = [k for k in params32 if k.endswith(".cr_beta")]
                rows = fd_check(cfg, params32, tokens, grads, n_entries=8, always=betas)
            else:
                rows = fd_check(cfg, params32, tokens, grads)
            line["fd_max_rel_err"] = max(r[4] for r in rows)
            line["fd_median_rel_err"] = sorted(r[4] for r in rows)[len(rows) // 2]
            line["grad_abs_min_checked"] = min(abs(r[2]) for r in rows)
            line["grad_global_norm"] = math.sqrt(sum(float((g * g).sum()) for g in grads.values()))
            for r in rows:
                print(f"  {d:16s} {r[0]:48s} {str(r[1]):12s} ag={r[2]: .6e} fd={r[3]: .6e} rel={r[4]:.1e}",
                      file=sys.stderr)
        summary.append(line)
        print(json.dumps(line))
    total = 0
    for root, _, files in os.walk(a.out):
        total += sum(os.path.getsize(os.path.join(root, f)) for f in files)
    print(json.dumps({"out": a.out, "total_bytes": total}))


if __name__ == "__main__":
    main()
