#!/usr/bin/python3
"""Independent plain-PyTorch reference of the LLaMA decoder and its CoLA and CR-Net variants.

No transformers, no numpy, no safetensors package: the .npy and .safetensors
readers/writers are written by hand below so that the script runs on a bare
Debian python3-torch (torch 1.13) install.

Numerics follow /work/shared/spec/methods.md section 1 (LLaMA), section 3
(CoLA) and section 5 (CR-Net). Choices that the spec leaves open are marked
"CHOICE".

Commands (one JSON object on the last line of stdout):
  eval --model DIR --tokens FILE.npy --seq-len N [--dtype float32|float64]
  grad --model DIR --tokens FILE.npy --seq-len N --out G.safetensors [--dtype ..]
  init --out DIR --seed S [--preset 60m|130m|350m|1b|7b] [--layer full|cola|crnet]
       [--hidden ..] [--intermediate ..] [--layers ..] [--heads ..] [--vocab ..]
       [--rank ..] [--only-lr-act true|false] [--max-pos ..] [--init spec|wide]

Run with:  OMP_WAIT_POLICY=PASSIVE OMP_NUM_THREADS=2 /usr/bin/python3 llama_ref.py ...
"""

import argparse
import ast
import json
import math
import os
import struct
import sys

import torch
import torch.nn.functional as F

# ---------------------------------------------------------------------------
# .npy (1-D token files) by hand
# ---------------------------------------------------------------------------

_NPY_DTYPES = {
    "i4": torch.int32, "i8": torch.int64, "u2": None, "i2": torch.int16,
    "u1": torch.uint8, "u4": None,
}


def read_npy_tokens(path):
    """Read a 1-D .npy of int32/int64/uint16 (also int16/uint8/uint32); returns int64 tensor."""
    with open(path, "rb") as f:
        data = f.read()
    if data[:6] != b"\x93NUMPY":
        raise ValueError(f"{path}: not a .npy file")
    major = data[6]
    if major == 1:
        (hlen,) = struct.unpack("<H", data[8:10])
        start = 10
    elif major in (2, 3):
        (hlen,) = struct.unpack("<I", data[8:12])
        start = 12
    else:
        raise ValueError(f"{path}: unsupported npy version {major}")
    header = ast.literal_eval(data[start:start + hlen].decode("latin1"))
    body = data[start + hlen:]
    descr = header["descr"]
    if header.get("fortran_order", False) and len(header["shape"]) > 1:
        raise ValueError(f"{path}: fortran order not supported")
    shape = header["shape"]
    if len(shape) != 1:
        raise ValueError(f"{path}: expected a 1-D array, got shape {shape}")
    n = shape[0]
    order, code = descr[0], descr[1:]
    if order == ">" and code not in ("u1", "i1"):
        raise ValueError(f"{path}: big-endian npy not supported")
    itemsize = int(code[1:])
    raw = body[:n * itemsize]
    if len(raw) != n * itemsize:
        raise ValueError(f"{path}: truncated data")
    if code == "u2":
        vals = struct.unpack(f"<{n}H", raw)
        return torch.tensor(vals, dtype=torch.int64)
    if code == "u4":
        vals = struct.unpack(f"<{n}I", raw)
        return torch.tensor(vals, dtype=torch.int64)
    if code not in _NPY_DTYPES or _NPY_DTYPES[code] is None:
        raise ValueError(f"{path}: unsupported dtype {descr}")
    if n == 0:
        return torch.zeros(0, dtype=torch.int64)
    return torch.frombuffer(bytearray(raw), dtype=_NPY_DTYPES[code]).to(torch.int64)


def write_npy_tokens(path, values, descr):
    """Write a 1-D .npy (format 1.0). descr: '<i4', '<i8' or '<u2'."""
    fmt = {"<i4": "i", "<i8": "q", "<u2": "H"}[descr]
    vals = [int(v) for v in values]
    header = "{'descr': '%s', 'fortran_order': False, 'shape': (%d,), }" % (descr, len(vals))
    # magic(6) + version(2) + u16 len(2) + header + '\n', padded to a multiple of 64
    total = 10 + len(header) + 1
    header = header + " " * ((64 - total % 64) % 64) + "\n"
    with open(path, "wb") as f:
        f.write(b"\x93NUMPY\x01\x00")
        f.write(struct.pack("<H", len(header)))
        f.write(header.encode("latin1"))
        f.write(struct.pack(f"<{len(vals)}{fmt}", *vals))


# ---------------------------------------------------------------------------
# .safetensors by hand
# ---------------------------------------------------------------------------

_ST_TO_TORCH = {
    "F64": torch.float64, "F32": torch.float32, "F16": torch.float16,
    "BF16": torch.bfloat16, "I64": torch.int64, "I32": torch.int32,
    "I16": torch.int16, "I8": torch.int8, "U8": torch.uint8,
}
_TORCH_TO_ST = {v: k for k, v in _ST_TO_TORCH.items()}


def read_safetensors(path):
    """Returns (dict name -> tensor, metadata dict)."""
    with open(path, "rb") as f:
        data = f.read()
    (hlen,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8:8 + hlen].decode("utf-8"))
    meta = header.pop("__metadata__", {}) or {}
    base = 8 + hlen
    out = {}
    for name, info in header.items():
        dt = _ST_TO_TORCH[info["dtype"]]
        b, e = info["data_offsets"]
        shape = list(info["shape"])
        numel = 1
        for s in shape:
            numel *= s
        if numel == 0:
            out[name] = torch.zeros(shape, dtype=dt)
            continue
        buf = bytearray(data[base + b:base + e])
        t = torch.frombuffer(buf, dtype=dt)
        if t.numel() != numel:
            raise ValueError(f"{path}: {name}: {t.numel()} elements, shape {shape}")
        out[name] = t.reshape(shape)
    return out, meta


def write_safetensors(path, tensors, metadata=None):
    """tensors: dict name -> tensor (written in the tensor's own dtype, row-major, LE)."""
    if sys.byteorder != "little":
        raise RuntimeError("big-endian host not supported")
    header = {}
    blobs = []
    off = 0
    for name in sorted(tensors):
        t = tensors[name].detach().contiguous().cpu()
        raw = _tensor_bytes(t)
        header[name] = {"dtype": _TORCH_TO_ST[t.dtype], "shape": list(t.shape),
                        "data_offsets": [off, off + len(raw)]}
        blobs.append(raw)
        off += len(raw)
    if metadata:
        header["__metadata__"] = {str(k): str(v) for k, v in metadata.items()}
    hb = json.dumps(header, separators=(",", ":")).encode("utf-8")
    hb += b" " * ((8 - len(hb) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(hb)))
        f.write(hb)
        for raw in blobs:
            f.write(raw)


def _tensor_bytes(t):
    """Raw little-endian bytes of a contiguous CPU tensor (no numpy needed)."""
    import ctypes
    n = t.numel() * t.element_size()
    if n == 0:
        return b""
    buf = (ctypes.c_uint8 * n)()
    ctypes.memmove(buf, t.data_ptr(), n)
    return bytes(buf)


# ---------------------------------------------------------------------------
# Config and parameters
# ---------------------------------------------------------------------------

PRESETS = {
    # name: (d, d_ff, layers, heads, cola rank, only_lr_act)   methods.md s1/s3
    "60m": (512, 1376, 8, 8, 128, False),
    "130m": (768, 2048, 12, 12, 256, False),
    "350m": (1024, 2736, 24, 16, 256, True),
    "1b": (2048, 5461, 24, 32, 512, True),
    "7b": (4096, 11008, 32, 32, 1024, True),
}

PROJS_ATTN = ("q_proj", "k_proj", "v_proj", "o_proj")
PROJS_MLP = ("gate_proj", "up_proj", "down_proj")


def make_config(d, ff, layers, heads, vocab, model_type="llama", rank=None,
                only_lr_act=False, max_pos=2048, eps=1e-6, theta=10000.0):
    cfg = {
        "architectures": ["LlamaForCausalLM"],
        "model_type": model_type,
        "hidden_size": d,
        "intermediate_size": ff,
        "num_hidden_layers": layers,
        "num_attention_heads": heads,
        "num_key_value_heads": heads,
        "vocab_size": vocab,
        "rms_norm_eps": eps,
        "rope_theta": theta,
        "max_position_embeddings": max_pos,
        "hidden_act": "silu",
        "tie_word_embeddings": False,
        "torch_dtype": "float32",
    }
    if model_type == "cola":
        cfg["architectures"] = ["ColaForCausalLM"]
        cfg["rank"] = rank
        cfg["only_lr_act"] = bool(only_lr_act)
    elif model_type == "crnet":
        cfg["architectures"] = ["CrNetForCausalLM"]
        cfg["lowrank_layer_type"] = "crnet"
        cfg["rank"] = rank
    elif model_type != "llama":
        raise ValueError(f"unknown model_type {model_type}")
    return cfg


def load_config(model_dir):
    with open(os.path.join(model_dir, "config.json")) as f:
        cfg = json.load(f)
    cfg.setdefault("rms_norm_eps", 1e-6)
    cfg.setdefault("rope_theta", 10000.0)
    if cfg.get("tie_word_embeddings", False):
        raise ValueError("tied embeddings are not part of the contract")
    nkv = cfg.get("num_key_value_heads", cfg["num_attention_heads"])
    if nkv != cfg["num_attention_heads"]:
        raise ValueError("GQA is not part of the contract")
    if cfg["model_type"] not in ("llama", "cola", "crnet"):
        raise ValueError(f"unsupported model_type {cfg['model_type']}")
    if cfg["model_type"] == "crnet" and cfg.get("lowrank_layer_type", "crnet") != "crnet":
        raise ValueError(f"lowrank_layer_type {cfg['lowrank_layer_type']} contradicts model_type crnet")
    return cfg


def proj_dims(cfg, proj):
    d, ff = cfg["hidden_size"], cfg["intermediate_size"]
    if proj in PROJS_ATTN:
        return d, d
    if proj in ("gate_proj", "up_proj"):
        return d, ff
    return ff, d  # down_proj


def proj_prefix(i, proj):
    kind = "self_attn" if proj in PROJS_ATTN else "mlp"
    return f"model.layers.{i}.{kind}.{proj}"


def param_shapes(cfg):
    """Ordered dict-like list of (name, shape)."""
    d, V = cfg["hidden_size"], cfg["vocab_size"]
    out = [("model.embed_tokens.weight", [V, d])]
    for i in range(cfg["num_hidden_layers"]):
        out.append((f"model.layers.{i}.input_layernorm.weight", [d]))
        out.append((f"model.layers.{i}.post_attention_layernorm.weight", [d]))
        for p in PROJS_ATTN + PROJS_MLP:
            din, dout = proj_dims(cfg, p)
            pre = proj_prefix(i, p)
            if cfg["model_type"] == "cola":
                r = cfg["rank"]
                out.append((pre + ".cola_a", [din, r]))
                out.append((pre + ".cola_b", [r, dout]))
            elif cfg["model_type"] == "crnet" and i > 0:
                # CR-Net (s5): layer 0 is full-rank (.weight below); later layers
                # hold A [in, r], B [r, out] and the scalar beta of the cross-layer term
                r = cfg["rank"]
                out.append((pre + ".cr_a", [din, r]))
                out.append((pre + ".cr_b", [r, dout]))
                out.append((pre + ".cr_beta", [1]))
            else:
                out.append((pre + ".weight", [dout, din]))
    out.append(("model.norm.weight", [d]))
    out.append(("lm_head.weight", [V, d]))
    return out


def init_params(cfg, seed, scheme="spec", gain=1.2, embed_std=1.0, head_std=0.25,
                norm_jitter=0.1):
    """Random weights, returned as float32 tensors (drawn in float64).

    scheme 'spec' (methods.md): embeddings, LM head and full-rank linears
      N(0, 0.02^2); CoLA (and CR-Net) A and B N(0, s^2) with
      s = r^-1/4 (d_in+d_out)^-1/4; CR-Net beta 1.0; norm weights 1.
    scheme 'wide' (test fixtures: O(1) activations, loss well away from ln V,
      gradients with real signal): every matrix N(0, (gain/sqrt(fan_in))^2)
      where fan_in is d_in for W and A and r for B; embeddings N(0, embed_std^2);
      LM head N(0, head_std^2); norm weights 1 + norm_jitter * N(0, 1);
      CR-Net beta = s * (0.5 + U[0,1)) with a random sign s (one draw of
      U[0,1) for the sign, then one for the magnitude).
    Draw order: param_shapes(cfg) order, one torch.Generator seeded with seed."""
    g = torch.Generator().manual_seed(seed)
    params = {}
    for name, shape in param_shapes(cfg):
        if name.endswith(".cr_beta"):
            if scheme == "spec":
                t = torch.ones(shape, dtype=torch.float64)   # CHOICE (methods.md s5)
            else:
                sign = torch.where(torch.rand(shape, generator=g, dtype=torch.float64) < 0.5, -1.0, 1.0)
                t = sign * (0.5 + torch.rand(shape, generator=g, dtype=torch.float64))
        elif name.endswith("layernorm.weight") or name == "model.norm.weight":
            if scheme == "spec":
                t = torch.ones(shape, dtype=torch.float64)
            else:
                t = 1.0 + norm_jitter * torch.randn(shape, generator=g, dtype=torch.float64)
        else:
            if name == "model.embed_tokens.weight":
                std = 0.02 if scheme == "spec" else embed_std
            elif name == "lm_head.weight":
                std = 0.02 if scheme == "spec" else head_std
            elif name.endswith(".weight"):          # full-rank W [out, in]
                std = 0.02 if scheme == "spec" else gain / math.sqrt(shape[1])
            elif name.endswith((".cola_a", ".cola_b", ".cr_a", ".cr_b")):
                pin, pout = proj_dims(cfg, name.split(".")[-2])
                r = cfg["rank"]
                if scheme == "spec":
                    std = (r ** -0.25) * ((pin + pout) ** -0.25)
                else:
                    std = gain / math.sqrt(pin if name.endswith("_a") else r)
            else:
                raise AssertionError(name)
            t = std * torch.randn(shape, generator=g, dtype=torch.float64)
        params[name] = t.to(torch.float32)
    return params


def load_params(model_dir, cfg, dtype):
    tensors, _ = read_safetensors(os.path.join(model_dir, "model.safetensors"))
    params = {}
    for name, shape in param_shapes(cfg):
        if name not in tensors:
            raise KeyError(f"missing tensor {name}")
        t = tensors.pop(name)
        if list(t.shape) != shape:
            raise ValueError(f"{name}: shape {list(t.shape)} != expected {shape}")
        params[name] = t.to(dtype).clone()
    if tensors:
        raise ValueError(f"unexpected tensors: {sorted(tensors)[:5]}")
    return params


def save_checkpoint(out_dir, cfg, params):
    os.makedirs(out_dir, exist_ok=True)
    with open(os.path.join(out_dir, "config.json"), "w") as f:
        json.dump(cfg, f, indent=2, sort_keys=True)
        f.write("\n")
    write_safetensors(os.path.join(out_dir, "model.safetensors"),
                      {k: v.to(torch.float32) for k, v in params.items()},
                      {"format": "pt"})


# ---------------------------------------------------------------------------
# Model
# ---------------------------------------------------------------------------

def rms_norm(x, w, eps):
    return w * (x / torch.sqrt(x.pow(2).mean(dim=-1, keepdim=True) + eps))


def rope_cos_sin(T, hd, theta, dtype):
    # CHOICE: inv_freq, angles, cos and sin are computed in float64 and then
    # cast to the compute dtype (HF computes them in float32).
    inv_freq = 1.0 / (theta ** (torch.arange(0, hd, 2, dtype=torch.float64) / hd))
    pos = torch.arange(T, dtype=torch.float64)
    freqs = torch.outer(pos, inv_freq)            # [T, hd/2]
    emb = torch.cat([freqs, freqs], dim=-1)       # [T, hd]
    return emb.cos().to(dtype), emb.sin().to(dtype)


def rotate_half(x):
    h = x.shape[-1] // 2
    return torch.cat([-x[..., h:], x[..., :h]], dim=-1)


def apply_rope(x, cos, sin):
    # x: [B, H, T, hd]; cos/sin: [T, hd]
    return x * cos + rotate_half(x) * sin


def crnet_coefficient(beta):
    """b(beta) = sign(beta) * (|beta| + 1e-6) (methods.md s5); autograd gives b'(beta) = 1 for beta != 0."""
    return torch.sign(beta) * (beta.abs() + 1e-6)


class Model:
    def __init__(self, cfg, params):
        self.cfg = cfg
        self.p = params
        self.cola = cfg["model_type"] == "cola"
        self.crnet = cfg["model_type"] == "crnet"
        self.only_lr_act = bool(cfg.get("only_lr_act", False))
        self._rope = {}
        self.sdpa = False   # True: F.scaled_dot_product_attention instead of the explicit softmax
        self._cr_prev = {}   # CR-Net: projection name -> previous layer's output Y_{l-1}

    def linear(self, x, pre):
        if self.cola:
            return F.silu(x @ self.p[pre + ".cola_a"]) @ self.p[pre + ".cola_b"]
        if self.crnet:
            return self.crnet_linear(x, pre)
        return x @ self.p[pre + ".weight"].t()

    def crnet_linear(self, x, pre):
        """CR-Net projection (methods.md s5), layer index from the name (0-based):
             layer 0:     Y_0 = X_0 W^T
             layer l>=1:  Y_l = b(beta_l) * Y_{l-1} + (X_l A_l) B_l
        Y is the raw projection output (q and k are rotated by RoPE afterwards, on
        a new tensor; Y_{l-1} is the un-rotated output). The chain links the
        same projection kind across consecutive layers."""
        kind = pre.split(".")[-1]
        layer = int(pre.split(".")[2])
        if layer == 0:
            y = x @ self.p[pre + ".weight"].t()
        else:
            prev = self._cr_prev[kind]
            if prev[0] != layer - 1:
                raise AssertionError(f"{pre}: previous output is from layer {prev[0]}")
            b = crnet_coefficient(self.p[pre + ".cr_beta"])
            y = b * prev[1] + (x @ self.p[pre + ".cr_a"]) @ self.p[pre + ".cr_b"]
        self._cr_prev[kind] = (layer, y)
        return y

    def rope(self, T, hd, dtype, device=None):
        key = (T, hd, dtype, device)
        if key not in self._rope:
            cos, sin = rope_cos_sin(T, hd, float(self.cfg["rope_theta"]), dtype)
            self._rope[key] = (cos.to(device), sin.to(device)) if device is not None else (cos, sin)
        return self._rope[key]

    def attention(self, x, i):
        B, T, d = x.shape
        H = self.cfg["num_attention_heads"]
        hd = d // H
        q = self.linear(x, proj_prefix(i, "q_proj")).view(B, T, H, hd).transpose(1, 2)
        k = self.linear(x, proj_prefix(i, "k_proj")).view(B, T, H, hd).transpose(1, 2)
        v = self.linear(x, proj_prefix(i, "v_proj")).view(B, T, H, hd).transpose(1, 2)
        cos, sin = self.rope(T, hd, x.dtype, x.device)
        q = apply_rope(q, cos, sin)
        k = apply_rope(k, cos, sin)
        if self.sdpa:
            # the fused kernel (flash / memory-efficient attention on GPUs): same equations, the
            # speed baseline for GPU benchmarks (bench_torch.py --attention sdpa)
            o = F.scaled_dot_product_attention(q, k, v, is_causal=True).transpose(1, 2).reshape(B, T, d)
            return self.linear(o, proj_prefix(i, "o_proj"))
        scores = (q @ k.transpose(-1, -2)) / math.sqrt(hd)       # [B, H, T, T]
        mask = torch.ones(T, T, dtype=torch.bool, device=x.device).triu(1)
        scores = scores.masked_fill(mask, float("-inf"))
        att = torch.softmax(scores, dim=-1)
        o = (att @ v).transpose(1, 2).reshape(B, T, d)
        return self.linear(o, proj_prefix(i, "o_proj"))

    def mlp(self, x, i):
        g = self.linear(x, proj_prefix(i, "gate_proj"))
        u = self.linear(x, proj_prefix(i, "up_proj"))
        if not (self.cola and self.only_lr_act):
            g = F.silu(g)
        return self.linear(g * u, proj_prefix(i, "down_proj"))

    def forward(self, ids):
        """ids: [B, T] int64 -> logits [B, T, V]."""
        eps = float(self.cfg["rms_norm_eps"])
        self._cr_prev = {}
        x = self.p["model.embed_tokens.weight"][ids]
        for i in range(self.cfg["num_hidden_layers"]):
            h = x + self.attention(rms_norm(x, self.p[f"model.layers.{i}.input_layernorm.weight"], eps), i)
            x = h + self.mlp(rms_norm(h, self.p[f"model.layers.{i}.post_attention_layernorm.weight"], eps), i)
        x = rms_norm(x, self.p["model.norm.weight"], eps)
        return x @ self.p["lm_head.weight"].t()


def windows(tokens, seq_len):
    """Non-overlapping windows of seq_len+1 tokens, remainder dropped -> [N, seq_len+1]."""
    n = tokens.numel() // (seq_len + 1)
    if n == 0:
        raise ValueError(f"token file has {tokens.numel()} tokens, fewer than seq_len+1={seq_len + 1}")
    return tokens[:n * (seq_len + 1)].view(n, seq_len + 1)


def summed_loss(model, win):
    logits = model.forward(win[:, :-1])
    V = logits.shape[-1]
    return F.cross_entropy(logits.reshape(-1, V), win[:, 1:].reshape(-1), reduction="sum")


def mean_loss(model, tokens, seq_len, batch=8, backward=False):
    """Mean next-token CE over all target tokens of all windows (float64 accumulation).
    With backward=True the gradients of that mean accumulate in the params' .grad."""
    win = windows(tokens, seq_len)
    V = model.cfg["vocab_size"]
    if int(win.max()) >= V or int(win.min()) < 0:
        raise ValueError("token id out of range for vocab_size")
    count = win.shape[0] * seq_len
    total = 0.0
    for s in range(0, win.shape[0], batch):
        chunk = win[s:s + batch]
        with torch.set_grad_enabled(backward):
            l = summed_loss(model, chunk)
            if backward:
                (l / count).backward()
        total += float(l.detach().to(torch.float64))
    return total / count, count


# ---------------------------------------------------------------------------
# CLI
# ---------------------------------------------------------------------------

def _dtype(s):
    return {"float32": torch.float32, "float64": torch.float64}[s]


def cmd_eval(a):
    cfg = load_config(a.model)
    params = load_params(a.model, cfg, _dtype(a.dtype))
    toks = read_npy_tokens(a.tokens)
    loss, n = mean_loss(Model(cfg, params), toks, a.seq_len, a.batch)
    print(json.dumps({"loss": loss, "ppl": math.exp(loss), "tokens": n}))


def cmd_grad(a):
    cfg = load_config(a.model)
    params = load_params(a.model, cfg, _dtype(a.dtype))
    for t in params.values():
        t.requires_grad_(True)
    toks = read_npy_tokens(a.tokens)
    loss, n = mean_loss(Model(cfg, params), toks, a.seq_len, a.batch, backward=True)
    grads = {k: (v.grad if v.grad is not None else torch.zeros_like(v)).detach()
             for k, v in params.items()}
    write_safetensors(a.out, grads, {"loss": repr(loss), "tokens": n, "seq_len": a.seq_len,
                                     "dtype": a.dtype})
    print(json.dumps({"loss": loss, "ppl": math.exp(loss), "tokens": n, "out": a.out}))


def _bool(s):
    if s.lower() in ("true", "1", "yes"):
        return True
    if s.lower() in ("false", "0", "no"):
        return False
    raise argparse.ArgumentTypeError(s)


def cmd_init(a):
    if a.preset:
        d, ff, L, H, r, lract = PRESETS[a.preset]
    else:
        d = ff = L = H = r = None
        lract = False
    d = a.hidden or d
    ff = a.intermediate or ff
    L = a.layers or L
    H = a.heads or H
    r = a.rank or r
    if a.only_lr_act is not None:
        lract = a.only_lr_act
    if None in (d, ff, L, H) or (a.layer in ("cola", "crnet") and r is None):
        raise SystemExit("init: give --preset or all of --hidden --intermediate --layers --heads (--rank)")
    if d % H != 0 or (d // H) % 2 != 0:
        raise SystemExit("init: hidden/heads must be an even integer")
    cfg = make_config(d, ff, L, H, a.vocab, {"full": "llama"}.get(a.layer, a.layer),
                      rank=r, only_lr_act=lract, max_pos=a.max_pos)
    params = init_params(cfg, a.seed, scheme=a.init)
    save_checkpoint(a.out, cfg, params)
    n = sum(t.numel() for t in params.values())
    print(json.dumps({"out": a.out, "params": n, "model_type": cfg["model_type"]}))


def main(argv=None):
    torch.set_num_threads(int(os.environ.get("OMP_NUM_THREADS", "2")))
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="cmd", required=True)
    for name in ("eval", "grad"):
        p = sub.add_parser(name)
        p.add_argument("--model", required=True)
        p.add_argument("--tokens", required=True)
        p.add_argument("--seq-len", type=int, required=True)
        p.add_argument("--dtype", default="float32", choices=["float32", "float64"])
        p.add_argument("--batch", type=int, default=8, help="windows per forward pass")
        if name == "grad":
            p.add_argument("--out", required=True)
    p = sub.add_parser("init")
    p.add_argument("--out", required=True)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--preset", choices=sorted(PRESETS))
    p.add_argument("--layer", choices=["full", "cola", "crnet"], default="full")
    p.add_argument("--hidden", type=int)
    p.add_argument("--intermediate", type=int)
    p.add_argument("--layers", type=int)
    p.add_argument("--heads", type=int)
    p.add_argument("--rank", type=int)
    p.add_argument("--vocab", type=int, default=32000)
    p.add_argument("--only-lr-act", type=_bool, default=None)
    p.add_argument("--max-pos", type=int, default=2048)
    p.add_argument("--init", choices=["spec", "wide"], default="spec",
                   help="spec: methods.md init; wide: O(1)-activation test init")
    a = ap.parse_args(argv)
    {"eval": cmd_eval, "grad": cmd_grad, "init": cmd_init}[a.cmd](a)


if __name__ == "__main__":
    main()
