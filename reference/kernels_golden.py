#!/usr/bin/env python3
"""Golden fixtures for SharpLM's compute kernels, produced by PyTorch.

Run:  python3 reference/kernels_golden.py   (needs torch; writes tests/SharpLM.Tensors.Tests/Fixtures/kernels/*.json)

Each fixture is one JSON file: {"torch": version, "seed": seed, "meta": {scalars/shapes},
"tensors": {name: {"shape": [...], "data": [float32 values printed to 9 significant digits]}}}.
Inputs are drawn from torch's seeded generator; outputs and gradients come from torch modules/ops and
autograd, in float32 as PyTorch computes them on CPU. The C# tests compare within tolerances stated
beside each comparison. CI never runs this script: the fixtures are committed.
"""
import json
import math
import os

import torch
import torch.nn.functional as F

SEED = 1234
OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "SharpLM.Tensors.Tests", "Fixtures", "kernels")


def t2j(x):
    x = x.detach().to(torch.float32).contiguous()
    return {"shape": list(x.shape), "data": [float("%.9g" % v) for v in x.reshape(-1).tolist()]}


def i2j(x):
    return {"shape": list(x.shape), "data": [int(v) for v in x.reshape(-1).tolist()]}


def write(name, meta, tensors):
    os.makedirs(OUT, exist_ok=True)
    doc = {"torch": torch.__version__, "seed": SEED, "meta": meta,
           "tensors": {k: (i2j(v) if v.dtype in (torch.int32, torch.int64) else t2j(v)) for k, v in tensors.items()}}
    path = os.path.join(OUT, name + ".json")
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        json.dump(doc, f, separators=(",", ":"))
    os.replace(tmp, path)
    print(name, os.path.getsize(path), "bytes")


def leaf(*shape, scale=1.0, shift=0.0):
    return (torch.randn(*shape) * scale + shift).requires_grad_(True)


def layernorm():
    BT, C = 6, 13
    x, w, b = leaf(BT, C, scale=2.0, shift=0.5), leaf(C), leaf(C)
    dout = torch.randn(BT, C)
    out = F.layer_norm(x, (C,), w, b, eps=1e-5)
    out.backward(dout)
    mean = x.mean(-1)
    rstd = torch.rsqrt(x.var(-1, unbiased=False) + 1e-5)
    write("layernorm", {"BT": BT, "C": C, "eps": 1e-5},
          {"x": x, "w": w, "b": b, "dout": dout, "out": out, "mean": mean, "rstd": rstd, "dx": x.grad, "dw": w.grad, "db": b.grad})


def rmsnorm():
    BT, C = 5, 19
    x, w = leaf(BT, C, scale=1.5), leaf(C)
    dout = torch.randn(BT, C)
    # Hugging Face LlamaRMSNorm
    out = w * (x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + 1e-6))
    out.backward(dout)
    write("rmsnorm", {"BT": BT, "C": C, "eps": 1e-6}, {"x": x, "w": w, "dout": dout, "out": out, "dx": x.grad, "dw": w.grad})


def activations():
    N = 257
    x = leaf(N, scale=3.0)
    dout = torch.randn(N)
    g = F.gelu(x, approximate="tanh")
    g.backward(dout)
    xs = x.detach().clone().requires_grad_(True)
    s = F.silu(xs)
    s.backward(dout)
    a, b = leaf(N, scale=3.0), leaf(N)
    sw = F.silu(a) * b
    sw.backward(dout)
    write("activations", {"N": N}, {"x": x, "dout": dout, "gelu": g, "dgelu": x.grad, "silu": s, "dsilu": xs.grad,
                                    "a": a, "b": b, "swiglu": sw, "da": a.grad, "db": b.grad})


def rope():
    B, T, NH, HS, theta = 2, 5, 3, 8, 10000.0
    x = leaf(B, T, NH, HS)
    dout = torch.randn(B, T, NH, HS)
    inv = 1.0 / (theta ** (torch.arange(0, HS, 2, dtype=torch.float64) / HS))
    ang = torch.outer(torch.arange(T, dtype=torch.float64), inv)          # (T, HS/2)
    cos, sin = ang.cos().float(), ang.sin().float()
    # Hugging Face Llama: rotate_half with cos/sin duplicated over the two halves
    c2, s2 = torch.cat([cos, cos], -1)[None, :, None, :], torch.cat([sin, sin], -1)[None, :, None, :]
    x1, x2 = x[..., : HS // 2], x[..., HS // 2:]
    half = x * c2 + torch.cat([-x2, x1], -1) * s2
    half.backward(dout)
    dhalf = x.grad.clone()
    x.grad = None
    # Meta / llama.cpp: adjacent pairs as complex numbers
    xc = torch.view_as_complex(x.reshape(B, T, NH, HS // 2, 2))
    rot = torch.polar(torch.ones_like(cos), ang.float())[None, :, None, :]
    inter = torch.view_as_real(xc * rot).reshape(B, T, NH, HS)
    inter.backward(dout)
    write("rope", {"B": B, "T": T, "NH": NH, "HS": HS, "theta": theta},
          {"x": x, "dout": dout, "rotate_half": half, "drotate_half": dhalf, "interleaved": inter, "dinterleaved": x.grad})


def softmax():
    BT, C = 5, 11
    x = leaf(BT, C, scale=3.0)
    dout = torch.randn(BT, C)
    p = torch.softmax(x, -1)
    p.backward(dout)
    write("softmax", {"BT": BT, "C": C}, {"x": x, "dout": dout, "out": p, "dx": x.grad})


def attention():
    B, T, NH, NKV, HS = 2, 9, 4, 2, 8
    q, k, v = leaf(B, T, NH, HS), leaf(B, T, NKV, HS), leaf(B, T, NKV, HS)
    dout = torch.randn(B, T, NH, HS)
    rep = NH // NKV
    qh = q.transpose(1, 2)                                   # (B, NH, T, HS)
    kh = k.transpose(1, 2).repeat_interleave(rep, dim=1)      # (B, NH, T, HS)
    vh = v.transpose(1, 2).repeat_interleave(rep, dim=1)
    s = qh @ kh.transpose(-1, -2) / math.sqrt(HS)             # (B, NH, T, T)
    mask = torch.ones(T, T, dtype=torch.bool).tril()
    s = s.masked_fill(~mask, float("-inf"))
    lse = torch.logsumexp(s, -1)                              # (B, NH, T)
    out = (torch.softmax(s, -1) @ vh).transpose(1, 2)         # (B, T, NH, HS)
    out.backward(dout)
    write("attention", {"B": B, "T": T, "NH": NH, "NKV": NKV, "HS": HS},
          {"q": q, "k": k, "v": v, "dout": dout, "out": out, "lse": lse, "dq": q.grad, "dk": k.grad, "dv": v.grad})


def cross_entropy():
    BT, C, V = 8, 6, 19
    h, W = leaf(BT, C), leaf(V, C, scale=0.7)
    targets = torch.randint(0, V, (BT,))
    targets[1] = -100
    targets[5] = -100
    logits = h @ W.t()
    logits.retain_grad()
    loss = F.cross_entropy(logits, targets, ignore_index=-100)
    loss.backward()
    write("cross_entropy", {"BT": BT, "C": C, "V": V, "ignore_index": -100, "loss": float(loss)},
          {"h": h, "W": W, "targets": targets.to(torch.int32), "logits": logits, "dlogits": logits.grad, "dh": h.grad, "dW": W.grad})


def adamw():
    N, steps = 37, 5
    lr, b1, b2, eps, wd = 1e-2, 0.9, 0.95, 1e-8, 0.1
    p = torch.nn.Parameter(torch.randn(N))
    p0 = p.detach().clone()
    opt = torch.optim.AdamW([p], lr=lr, betas=(b1, b2), eps=eps, weight_decay=wd)
    grads, after = [], []
    for _ in range(steps):
        g = torch.randn(N) * 0.5
        p.grad = g.clone()
        opt.step()
        grads.append(g)
        after.append(p.detach().clone())
    write("adamw", {"N": N, "steps": steps, "lr": lr, "beta1": b1, "beta2": b2, "eps": eps, "weight_decay": wd},
          {"p0": p0, "grads": torch.stack(grads), "params": torch.stack(after)})


def main():
    torch.manual_seed(SEED)
    torch.set_num_threads(1)
    for f in (layernorm, rmsnorm, activations, rope, softmax, attention, cross_entropy, adamw):
        f()


if __name__ == "__main__":
    main()
