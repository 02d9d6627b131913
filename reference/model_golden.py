#!/usr/bin/env python3
"""Whole-model golden fixtures for SharpLM's TransformerModel, produced by PyTorch (as llm.c's test_gpt2).

Run:  /usr/bin/python3 reference/model_golden.py
      (Debian's python3-torch; writes tests/SharpLM.Models.Tests/Fixtures/model_<case>.*)

For each case a tiny model is written in plain torch with exactly the semantics of Hugging Face's
GPT2LMHeadModel / LlamaForCausalLM (plus the options SharpLM adds: ALiBi, QK-norm, final-logit soft-cap,
a Mixtral-style mixture-of-experts MLP with the Switch load-balancing loss). Per case:
  model_<case>.safetensors   the weights under Hugging Face names (f32), the input for SharpLM
  model_<case>.json          the config (config.json fields, as SharpLM's ModelConfigJson reads them)
  model_<case>_expected.safetensors
      tokens (B, T+1) int32; logits (B, T, V); loss (1) — the mean cross-entropy over targets ≠ -1;
      grad.<name> for every parameter (∂loss/∂θ, plus aux·coef for MoE);
      adamw_losses (10) — the loss before each of 10 torch.optim.AdamW steps on the same batch,
      lr 1e-2, betas (0.9, 0.95), eps 1e-8, weight decay 0.1 on 2-D weights except embeddings, 0 otherwise.
Weights are random (normal, std 0.1 for matrices; norms 1 + 0.1·N(0,1); biases 0.1·N(0,1)) so every term
matters. Seeds are fixed below; the torch version is recorded in each file's metadata.
The safetensors files are written by the small writer below (the format is 8-byte header length, JSON
header, raw little-endian data) so the script needs only torch.
"""
import json
import math
import os
import struct

import torch
import torch.nn.functional as F

SEED = 20261129
OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "SharpLM.Models.Tests", "Fixtures")


def write_safetensors(path, tensors, metadata):
    header, blobs, off = {}, [], 0
    for name in sorted(tensors):
        t = tensors[name].detach().contiguous()
        if t.dtype == torch.float32:
            dt, raw = "F32", t.numpy().astype("<f4").tobytes()
        elif t.dtype == torch.int32:
            dt, raw = "I32", t.numpy().astype("<i4").tobytes()
        else:
            raise ValueError(t.dtype)
        header[name] = {"dtype": dt, "shape": list(t.shape), "data_offsets": [off, off + len(raw)]}
        blobs.append(raw)
        off += len(raw)
    header["__metadata__"] = metadata
    h = json.dumps(header, separators=(",", ":")).encode()
    h += b" " * ((8 - len(h) % 8) % 8)
    tmp = path + ".tmp"
    with open(tmp, "wb") as f:
        f.write(struct.pack("<Q", len(h)))
        f.write(h)
        for b in blobs:
            f.write(b)
    os.replace(tmp, path)


# ----------------------------------------------------------------------------- shared pieces

def causal_attention(q, k, v, alibi_slopes=None):
    # q (B, NH, T, HS), k/v (B, NKV, T, HS); GQA as HF repeat_kv: head h reads kv head h // (NH/NKV).
    B, NH, T, HS = q.shape
    rep = NH // k.shape[1]
    k = k[:, :, None].expand(B, k.shape[1], rep, T, HS).reshape(B, NH, T, HS)
    v = v[:, :, None].expand(B, v.shape[1], rep, T, HS).reshape(B, NH, T, HS)
    att = (q @ k.transpose(-2, -1)) / math.sqrt(HS)
    if alibi_slopes is not None:
        pos = torch.arange(T)
        dist = (pos[None, :] - pos[:, None]).float()  # j - i (≤ 0 where visible)
        att = att + alibi_slopes.view(1, NH, 1, 1) * dist
    mask = torch.ones(T, T, dtype=torch.bool).tril()
    att = att.masked_fill(~mask, float("-inf"))
    return F.softmax(att, dim=-1) @ v


def alibi_slopes(NH):
    # Press et al. 2022: geometric sequence starting at 2^(-8/n) for n a power of two (and the interleaved
    # extension otherwise, as in their reference code / BLOOM).
    def pow2(n):
        start = 2 ** (-(2 ** -(math.log2(n) - 3)))
        return [start * start ** i for i in range(n)]
    if math.log2(NH).is_integer():
        s = pow2(NH)
    else:
        c = 2 ** math.floor(math.log2(NH))
        s = pow2(c) + pow2(2 * c)[0::2][: NH - c]
    return torch.tensor(s, dtype=torch.float32)


def rms(x, w, eps):
    return w * (x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + eps))


def rope(x, theta):
    # HF Llama rotate_half convention; x (B, H, T, HS).
    T, HS = x.shape[2], x.shape[3]
    inv = 1.0 / (theta ** (torch.arange(0, HS, 2, dtype=torch.int64).float() / HS))
    freqs = torch.outer(torch.arange(T).float(), inv)
    emb = torch.cat((freqs, freqs), dim=-1)
    cos, sin = emb.cos(), emb.sin()
    x1, x2 = x[..., : HS // 2], x[..., HS // 2:]
    return x * cos + torch.cat((-x2, x1), dim=-1) * sin


def head_loss(P, cfg, x, targets, head_name):
    V = cfg["sharplm_vocab_size"] if "sharplm_vocab_size" in cfg else cfg["vocab_size"]
    logits = x @ P[head_name][:V].T
    cap = cfg.get("final_logit_softcapping") or 0.0
    if cap > 0:
        logits = cap * torch.tanh(logits / cap)
    loss = F.cross_entropy(logits.reshape(-1, V), targets.reshape(-1), ignore_index=-1)
    return logits, loss


# ----------------------------------------------------------------------------- GPT-2 style

def gpt2_forward(P, cfg, idx, targets):
    B, T = idx.shape
    C, NH, L, eps = cfg["n_embd"], cfg["n_head"], cfg["n_layer"], cfg["layer_norm_epsilon"]
    HS = C // NH
    alibi = cfg.get("sharplm_alibi", False)
    x = P["transformer.wte.weight"][idx]
    if not alibi:
        x = x + P["transformer.wpe.weight"][:T]
    slopes = alibi_slopes(NH) if alibi else None
    for l in range(L):
        p = f"transformer.h.{l}."
        h = F.layer_norm(x, (C,), P[p + "ln_1.weight"], P[p + "ln_1.bias"], eps)
        qkv = h @ P[p + "attn.c_attn.weight"] + P[p + "attn.c_attn.bias"]
        q, k, v = qkv.split(C, dim=2)
        q = q.view(B, T, NH, HS).transpose(1, 2)
        k = k.view(B, T, NH, HS).transpose(1, 2)
        v = v.view(B, T, NH, HS).transpose(1, 2)
        if cfg.get("sharplm_qk_norm", False):
            q = rms(q, P[p + "attn.q_norm.weight"], eps)
            k = rms(k, P[p + "attn.k_norm.weight"], eps)
        y = causal_attention(q, k, v, slopes).transpose(1, 2).reshape(B, T, C)
        x = x + y @ P[p + "attn.c_proj.weight"] + P[p + "attn.c_proj.bias"]
        h = F.layer_norm(x, (C,), P[p + "ln_2.weight"], P[p + "ln_2.bias"], eps)
        h = F.gelu(h @ P[p + "mlp.c_fc.weight"] + P[p + "mlp.c_fc.bias"], approximate="tanh")
        x = x + h @ P[p + "mlp.c_proj.weight"] + P[p + "mlp.c_proj.bias"]
    x = F.layer_norm(x, (C,), P["transformer.ln_f.weight"], P["transformer.ln_f.bias"], eps)
    head = "transformer.wte.weight" if cfg.get("tie_word_embeddings", True) else "lm_head.weight"
    logits, loss = head_loss(P, cfg, x, targets, head)
    return logits, loss, loss


def gpt2_params(cfg, g):
    C, L, I, Vp, Tm = cfg["n_embd"], cfg["n_layer"], cfg["n_inner"], cfg["vocab_size"], cfg["n_positions"]
    HS = C // cfg["n_head"]
    P = {}
    P["transformer.wte.weight"] = mat(g, Vp, C)
    if not cfg.get("sharplm_alibi", False):
        P["transformer.wpe.weight"] = mat(g, Tm, C)
    for l in range(L):
        p = f"transformer.h.{l}."
        P[p + "ln_1.weight"], P[p + "ln_1.bias"] = norm_w(g, C), bias(g, C)
        P[p + "attn.c_attn.weight"], P[p + "attn.c_attn.bias"] = mat(g, C, 3 * C), bias(g, 3 * C)
        if cfg.get("sharplm_qk_norm", False):
            P[p + "attn.q_norm.weight"], P[p + "attn.k_norm.weight"] = norm_w(g, HS), norm_w(g, HS)
        P[p + "attn.c_proj.weight"], P[p + "attn.c_proj.bias"] = mat(g, C, C), bias(g, C)
        P[p + "ln_2.weight"], P[p + "ln_2.bias"] = norm_w(g, C), bias(g, C)
        P[p + "mlp.c_fc.weight"], P[p + "mlp.c_fc.bias"] = mat(g, C, I), bias(g, I)
        P[p + "mlp.c_proj.weight"], P[p + "mlp.c_proj.bias"] = mat(g, I, C), bias(g, C)
    P["transformer.ln_f.weight"], P["transformer.ln_f.bias"] = norm_w(g, C), bias(g, C)
    if not cfg.get("tie_word_embeddings", True):
        P["lm_head.weight"] = mat(g, Vp, C)
    return P


# ----------------------------------------------------------------------------- Llama style

def llama_forward(P, cfg, idx, targets):
    B, T = idx.shape
    C, NH, NKV, L = cfg["hidden_size"], cfg["num_attention_heads"], cfg["num_key_value_heads"], cfg["num_hidden_layers"]
    eps, theta = cfg["rms_norm_eps"], cfg["rope_theta"]
    HS = C // NH
    E = cfg.get("num_local_experts", 0)
    alibi = cfg.get("sharplm_alibi", False)
    slopes = alibi_slopes(NH) if alibi else None
    x = P["model.embed_tokens.weight"][idx]
    aux_total = 0.0
    for l in range(L):
        p = f"model.layers.{l}."
        h = rms(x, P[p + "input_layernorm.weight"], eps)
        q = (h @ P[p + "self_attn.q_proj.weight"].T).view(B, T, NH, HS).transpose(1, 2)
        k = (h @ P[p + "self_attn.k_proj.weight"].T).view(B, T, NKV, HS).transpose(1, 2)
        v = (h @ P[p + "self_attn.v_proj.weight"].T).view(B, T, NKV, HS).transpose(1, 2)
        if cfg.get("sharplm_qk_norm", False):  # as Qwen3 / OLMo-2 per-head: RMSNorm over HS before RoPE
            q = rms(q, P[p + "self_attn.q_norm.weight"], eps)
            k = rms(k, P[p + "self_attn.k_norm.weight"], eps)
        if not alibi:
            q, k = rope(q, theta), rope(k, theta)
        y = causal_attention(q, k, v, slopes).transpose(1, 2).reshape(B, T, C)
        x = x + y @ P[p + "self_attn.o_proj.weight"].T
        h = rms(x, P[p + "post_attention_layernorm.weight"], eps)
        if E == 0:
            m = F.silu(h @ P[p + "mlp.gate_proj.weight"].T) * (h @ P[p + "mlp.up_proj.weight"].T)
            x = x + m @ P[p + "mlp.down_proj.weight"].T
        else:
            out, aux = moe(P, cfg, p, h.reshape(B * T, C))
            x = x + out.view(B, T, C)
            aux_total = aux_total + aux
    x = rms(x, P["model.norm.weight"], eps)
    head = "model.embed_tokens.weight" if cfg.get("tie_word_embeddings", False) else "lm_head.weight"
    logits, loss = head_loss(P, cfg, x, targets, head)
    total = loss + cfg.get("router_aux_loss_coef", 0.0) * aux_total if E else loss
    return logits, loss, total


def moe(P, cfg, p, h):
    # Mixtral (HF MixtralSparseMoeBlock): router softmax over E experts, top-k, weights renormalised over the
    # k chosen; each expert a SwiGLU MLP (w1 gate, w3 up, w2 down) run only on its tokens. Aux loss as HF
    # load_balancing_loss_func for one layer: E · Σ_e f_e · P_e, f_e = (tokens routed to e over all k slots)/N,
    # P_e = mean router probability of e.
    E, K = cfg["num_local_experts"], cfg["num_experts_per_tok"]
    N = h.shape[0]
    logits = h @ P[p + "block_sparse_moe.gate.weight"].T  # (N, E)
    probs = F.softmax(logits, dim=-1)
    topw, topi = torch.topk(probs, K, dim=-1)
    topw = topw / topw.sum(dim=-1, keepdim=True)
    out = torch.zeros_like(h)
    for e in range(E):
        rows, slot = torch.where(topi == e)
        if rows.numel() == 0:
            continue
        xe = h[rows]
        q = f"{p}block_sparse_moe.experts.{e}."
        ye = (F.silu(xe @ P[q + "w1.weight"].T) * (xe @ P[q + "w3.weight"].T)) @ P[q + "w2.weight"].T
        out = out.index_add(0, rows, ye * topw[rows, slot].unsqueeze(-1))
    mask = F.one_hot(topi, E).float()             # (N, K, E)
    f = mask.sum(dim=1).mean(dim=0)               # (E)
    pm = probs.mean(dim=0)                        # (E)
    aux = E * (f * pm).sum()
    return out, aux


def llama_params(cfg, g):
    C, L, I, Vp = cfg["hidden_size"], cfg["num_hidden_layers"], cfg["intermediate_size"], cfg["vocab_size"]
    NH, NKV = cfg["num_attention_heads"], cfg["num_key_value_heads"]
    HS = C // NH
    E = cfg.get("num_local_experts", 0)
    P = {"model.embed_tokens.weight": mat(g, Vp, C)}
    for l in range(L):
        p = f"model.layers.{l}."
        P[p + "input_layernorm.weight"] = norm_w(g, C)
        P[p + "self_attn.q_proj.weight"] = mat(g, C, C)
        P[p + "self_attn.k_proj.weight"] = mat(g, NKV * HS, C)
        P[p + "self_attn.v_proj.weight"] = mat(g, NKV * HS, C)
        if cfg.get("sharplm_qk_norm", False):
            P[p + "self_attn.q_norm.weight"], P[p + "self_attn.k_norm.weight"] = norm_w(g, HS), norm_w(g, HS)
        P[p + "self_attn.o_proj.weight"] = mat(g, C, C)
        P[p + "post_attention_layernorm.weight"] = norm_w(g, C)
        if E == 0:
            P[p + "mlp.gate_proj.weight"] = mat(g, I, C)
            P[p + "mlp.up_proj.weight"] = mat(g, I, C)
            P[p + "mlp.down_proj.weight"] = mat(g, C, I)
        else:
            P[p + "block_sparse_moe.gate.weight"] = mat(g, E, C, std=0.5)
            for e in range(E):
                q = f"{p}block_sparse_moe.experts.{e}."
                P[q + "w1.weight"], P[q + "w2.weight"], P[q + "w3.weight"] = mat(g, I, C), mat(g, C, I), mat(g, I, C)
    P["model.norm.weight"] = norm_w(g, C)
    if not cfg.get("tie_word_embeddings", False):
        P["lm_head.weight"] = mat(g, Vp, C)
    return P


# ----------------------------------------------------------------------------- driver

def mat(g, *shape, std=0.1):
    return torch.randn(*shape, generator=g) * std


def norm_w(g, n):
    return 1.0 + 0.1 * torch.randn(n, generator=g)


def bias(g, n):
    return 0.1 * torch.randn(n, generator=g)


def decays(name, t):
    return t.dim() >= 2 and not any(s in name for s in ("wte", "wpe", "embed_tokens"))


def run_case(name, cfg, forward, params, B, T, seed):
    g = torch.Generator().manual_seed(seed)
    P0 = params(cfg, g)
    V = cfg.get("sharplm_vocab_size", cfg["vocab_size"])
    tokens = torch.randint(0, V, (B, T + 1), generator=g)
    tokens[0, T] = -1  # the last target of row 0 is ignored (an id only ever used as a target)
    inputs, targets = tokens[:, :-1].clone(), tokens[:, 1:].clone()
    P = {k: v.clone().requires_grad_(True) for k, v in P0.items()}
    logits, loss, total = forward(P, cfg, inputs, targets)
    total.backward()
    expected = {"logits": logits.detach(), "loss": loss.detach().reshape(1), "tokens": tokens.to(torch.int32)}
    for k, v in P.items():
        expected["grad." + k] = v.grad.detach()

    P = {k: v.clone().requires_grad_(True) for k, v in P0.items()}
    groups = [{"params": [P[k] for k in P if decays(k, P[k])], "weight_decay": 0.1},
              {"params": [P[k] for k in P if not decays(k, P[k])], "weight_decay": 0.0}]
    opt = torch.optim.AdamW(groups, lr=1e-2, betas=(0.9, 0.95), eps=1e-8)
    losses = []
    for _ in range(10):
        opt.zero_grad()
        _, loss, total = forward(P, cfg, inputs, targets)
        total.backward()
        opt.step()
        losses.append(loss.item())
    expected["adamw_losses"] = torch.tensor(losses, dtype=torch.float32)

    meta = {"torch": torch.__version__, "seed": str(seed), "case": name}
    os.makedirs(OUT, exist_ok=True)
    write_safetensors(os.path.join(OUT, f"model_{name}.safetensors"), P0, {"format": "pt", **meta})
    write_safetensors(os.path.join(OUT, f"model_{name}_expected.safetensors"), expected, meta)
    with open(os.path.join(OUT, f"model_{name}.json"), "w") as f:
        json.dump(cfg, f, indent=2)
    print(name, "loss", loss.item(), "after 10 AdamW steps", losses[-1])


def gpt2_cfg(**kw):
    c = {"model_type": "gpt2", "n_layer": 2, "n_head": 4, "n_embd": 32, "n_inner": 128, "n_positions": 16,
         "vocab_size": 64, "sharplm_vocab_size": 60, "layer_norm_epsilon": 1e-5, "tie_word_embeddings": True}
    c.update(kw)
    return c


def llama_cfg(**kw):
    c = {"model_type": "llama", "num_hidden_layers": 2, "num_attention_heads": 4, "num_key_value_heads": 2,
         "hidden_size": 32, "intermediate_size": 48, "max_position_embeddings": 16, "vocab_size": 64,
         "rms_norm_eps": 1e-5, "rope_theta": 10000.0, "tie_word_embeddings": False}
    c.update(kw)
    return c


if __name__ == "__main__":
    torch.manual_seed(SEED)
    run_case("gpt2", gpt2_cfg(), gpt2_forward, gpt2_params, B=2, T=8, seed=SEED)
    run_case("llama", llama_cfg(), llama_forward, llama_params, B=2, T=8, seed=SEED + 1)
    run_case("llama_mqa_tied", llama_cfg(num_key_value_heads=1, tie_word_embeddings=True), llama_forward, llama_params, B=2, T=8, seed=SEED + 2)
    run_case("gpt2_options", gpt2_cfg(sharplm_alibi=True, sharplm_qk_norm=True, final_logit_softcapping=2.0, n_head=2, tie_word_embeddings=False),
             gpt2_forward, gpt2_params, B=2, T=8, seed=SEED + 3)
    run_case("llama_options", llama_cfg(sharplm_qk_norm=True, final_logit_softcapping=2.0), llama_forward, llama_params, B=2, T=8, seed=SEED + 4)
    run_case("llama_alibi", llama_cfg(sharplm_alibi=True, num_attention_heads=6, num_key_value_heads=3, hidden_size=48, intermediate_size=64),
             llama_forward, llama_params, B=2, T=12, seed=SEED + 5)
    run_case("mixtral", llama_cfg(model_type="mixtral", num_local_experts=4, num_experts_per_tok=2, router_aux_loss_coef=0.1),
             llama_forward, llama_params, B=2, T=8, seed=SEED + 6)
