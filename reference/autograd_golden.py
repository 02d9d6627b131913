#!/usr/bin/env python3
"""Golden fixtures for SharpLM's autograd primitives, produced by PyTorch autograd.

Run:  /usr/bin/python3 reference/autograd_golden.py
      (Debian's python3-torch; writes tests/SharpLM.Tensors.Tests/Fixtures/autograd/*.json)

Fixtures (same JSON layout as kernels_golden.py: {"torch", "seed", "meta", "tensors"}):
  matmul.json  op(A)·op(B) for every layout (nn, nt, tn, tt) at odd sizes, plus the accumulating form
               C = C0 + op(A)·op(B) that the GEMM kernel's accumulate flag computes, the gradients dA, dB
               for an upstream gradient dC, and a batched (3-D) product.
  dpo.json     a DPO loss built only from primitives: log-softmax over the vocabulary, gather of the label
               log-probs, masked sum over the response, differences against frozen reference log-probs,
               −mean(logsigmoid(β·margin)); loss and d(loss)/d(logits).
  ppo.json     a clipped-surrogate PPO loss: ratio = exp(logp − logp_old), min(ratio·A, clamp(ratio)·A),
               −mean; loss and d(loss)/d(logits).
Everything is float32 on CPU with one thread. CI never runs this script: the fixtures are committed.
"""
import json
import os

import torch
import torch.nn.functional as F

SEED = 4321
OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "SharpLM.Tensors.Tests", "Fixtures", "autograd")


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


def matmul():
    M, N, K = 13, 17, 33
    tensors = {}
    for ta in (False, True):
        for tb in (False, True):
            tag = ("t" if ta else "n") + ("t" if tb else "n")
            a = torch.randn(*((K, M) if ta else (M, K))).requires_grad_(True)
            b = torch.randn(*((N, K) if tb else (K, N))).requires_grad_(True)
            c0 = torch.randn(M, N)
            dc = torch.randn(M, N)
            c = (a.t() if ta else a) @ (b.t() if tb else b)
            c.backward(dc)
            tensors.update({f"{tag}_a": a, f"{tag}_b": b, f"{tag}_c": c, f"{tag}_c0": c0, f"{tag}_c_acc": c0 + c,
                            f"{tag}_dc": dc, f"{tag}_da": a.grad, f"{tag}_db": b.grad})
    B = 3
    a = torch.randn(B, 5, 7).requires_grad_(True)
    b = torch.randn(B, 7, 4).requires_grad_(True)
    dc = torch.randn(B, 5, 4)
    c = torch.bmm(a, b)
    c.backward(dc)
    tensors.update({"bmm_a": a, "bmm_b": b, "bmm_c": c, "bmm_dc": dc, "bmm_da": a.grad, "bmm_db": b.grad})
    write("matmul", {"M": M, "N": N, "K": K, "B": B}, tensors)


def dpo():
    P, T, V, beta = 3, 6, 11, 0.1
    logits = (torch.randn(2 * P, T, V) * 2).requires_grad_(True)    # rows 0..P-1 chosen, P..2P-1 rejected
    labels = torch.randint(0, V, (2 * P, T), dtype=torch.int32)
    mask = torch.zeros(2 * P, T)
    for r in range(2 * P):                                          # prompt of 1..3 tokens, then the response
        mask[r, 1 + r % 3:] = 1.0
    ref_logps = torch.randn(2 * P) * 3 - 20
    logp = F.log_softmax(logits, dim=-1)
    tok = torch.gather(logp, -1, labels.long().unsqueeze(-1)).squeeze(-1)
    seq = torch.where(mask != 0, tok, torch.zeros_like(tok)).sum(-1)
    margin = beta * ((seq[:P] - ref_logps[:P]) - (seq[P:] - ref_logps[P:]))
    loss = -F.logsigmoid(margin).mean()
    loss.backward()
    write("dpo", {"P": P, "T": T, "V": V, "beta": beta},
          {"logits": logits, "labels": labels, "mask": mask, "ref_logps": ref_logps, "seq": seq, "loss": loss.reshape(1),
           "dlogits": logits.grad})


def ppo():
    N, V, eps = 9, 7, 0.2
    logits = torch.randn(N, V).requires_grad_(True)
    actions = torch.randint(0, V, (N,), dtype=torch.int32)
    with torch.no_grad():
        old = torch.gather(F.log_softmax(logits, -1), -1, actions.long().unsqueeze(-1)).squeeze(-1) + torch.randn(N) * 0.3
    adv = torch.randn(N)
    logp = torch.gather(F.log_softmax(logits, -1), -1, actions.long().unsqueeze(-1)).squeeze(-1)
    ratio = torch.exp(logp - old)
    surr = torch.minimum(ratio * adv, torch.clamp(ratio, 1 - eps, 1 + eps) * adv)
    loss = -surr.mean()
    loss.backward()
    write("ppo", {"N": N, "V": V, "eps": eps},
          {"logits": logits, "actions": actions, "old_logp": old, "adv": adv, "ratio": ratio, "loss": loss.reshape(1),
           "dlogits": logits.grad})


def main():
    torch.manual_seed(SEED)
    torch.set_num_threads(1)
    for f in (matmul, dpo, ppo):
        f()


if __name__ == "__main__":
    main()
