#!/usr/bin/env python3
"""Loss of an exported model under Hugging Face transformers, per the window contract.

    transformers_loss.py --model DIR --tokens F.npy --seq-len N [--dtype float32|float64] [--batch 8]

Loads DIR with LlamaForCausalLM.from_pretrained (full-rank exports of `bin/lowrank export`),
cuts the tokens into non-overlapping windows of N+1 (remainder dropped) and prints
{"loss", "ppl", "tokens"}: the mean next-token cross-entropy over all targets, accumulated
in float64, the same number `bin/lowrank eval` and `llama_ref.py eval` print.
Needs torch and transformers (not available on the CPU build machine; the GPU test machine has them).
"""
import argparse
import json
import math
import os
import sys

import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from llama_ref import read_npy_tokens, windows  # noqa: E402


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", required=True)
    ap.add_argument("--tokens", required=True)
    ap.add_argument("--seq-len", type=int, required=True)
    ap.add_argument("--dtype", default="float32", choices=["float32", "float64"])
    ap.add_argument("--batch", type=int, default=8)
    a = ap.parse_args()
    from transformers import LlamaForCausalLM
    dtype = {"float32": torch.float32, "float64": torch.float64}[a.dtype]
    model = LlamaForCausalLM.from_pretrained(a.model, torch_dtype=dtype, attn_implementation="eager")
    model.eval()
    win = windows(read_npy_tokens(a.tokens), a.seq_len)
    total, count = 0.0, win.shape[0] * a.seq_len
    with torch.no_grad():
        for s in range(0, win.shape[0], a.batch):
            chunk = win[s:s + a.batch]
            logits = model(input_ids=chunk[:, :-1]).logits
            total += float(F.cross_entropy(logits.reshape(-1, logits.shape[-1]).to(torch.float64),
                                           chunk[:, 1:].reshape(-1), reduction="sum"))
    loss = total / count
    print(json.dumps({"loss": loss, "ppl": math.exp(loss), "tokens": count}))


if __name__ == "__main__":
    main()
