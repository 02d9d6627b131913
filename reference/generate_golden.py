#!/usr/bin/env python3
"""Greedy-decoding golden fixtures for SharpLM's inference engine (tests/SharpLM.Models.Tests/Inference).

What it is: two tiny decoder models written directly in PyTorch from the Hugging Face formulas (the
`transformers` package is not installable here), with seeded random weights saved under Hugging Face names
as safetensors + config.json, and the tokens and logits of greedy decoding computed by full recomputation
(no cache) in float64:
  * gpt2:  GPT2LMHeadModel — learned positions, LayerNorm (eps 1e-5), Conv1D weights stored (in, out),
           fused c_attn, gelu_new (tanh), tied lm_head; the vocabulary is padded (90 ids used, 96 rows) and
           greedy picks among the first 90 logits.
  * llama: LlamaForCausalLM — RMSNorm (eps 1e-5), rotate-half RoPE (theta 10000, cos/sin of
           cat(freqs, freqs)), grouped-query attention (4 query heads, 2 KV heads), SwiGLU MLP, no biases,
           untied lm_head.
  * llama_bpe: the Llama layout again (GQA, untied head) with a real byte-level BPE vocabulary of 264 ids
           (256 bytes in byte order, 7 merges, <|endoftext|>) and its tokenizer.json, so the model also loads in
           llama.cpp after `sharplm gguf export` (reference/llamacpp/make_llamacpp_golden.sh).
  * gpt2_bpe: the GPT-2 layout again (tied head, learned positions for 64 tokens) with the same 264-id
           byte-level BPE vocabulary and tokenizer.json, for the gpt2-architecture GGUF export in llama.cpp.
Each model directory holds config.json, model.safetensors and expected.json (prompt, greedy tokens, the
logits of every position of the final sequence, and the smallest top-1/top-2 logit margin met, so a test
knows greedy choices are not near-ties).

Run: /usr/bin/python3 reference/generate_golden.py   (torch 1.13.0a0 from Debian python3-torch, seed 20261129)
Outputs tests/SharpLM.Models.Tests/Fixtures/generate/{gpt2,llama,llama_bpe,gpt2_bpe}/ (each model's weights are
drawn after the previous one's from the one generator, so adding a model at the end leaves the others unchanged).
"""
import json
import math
import os
import sys

import torch

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "formats"))
from make_safetensors import save_file  # noqa: E402  (the spec-following safetensors writer)

SEED = 20261129
PROMPT = [3, 17, 42, 5, 60]
NEW_TOKENS = 12


def gpt2_weights(L, C, V, T, I, g):
    w = {"transformer.wte.weight": torch.randn(V, C, generator=g) * 0.5,
         "transformer.wpe.weight": torch.randn(T, C, generator=g) * 0.3}
    for l in range(L):
        p = f"transformer.h.{l}."
        w[p + "ln_1.weight"] = 1 + 0.1 * torch.randn(C, generator=g)
        w[p + "ln_1.bias"] = 0.1 * torch.randn(C, generator=g)
        w[p + "attn.c_attn.weight"] = torch.randn(C, 3 * C, generator=g) * 0.2   # Conv1D: (in, out)
        w[p + "attn.c_attn.bias"] = 0.1 * torch.randn(3 * C, generator=g)
        w[p + "attn.c_proj.weight"] = torch.randn(C, C, generator=g) * 0.2
        w[p + "attn.c_proj.bias"] = 0.1 * torch.randn(C, generator=g)
        w[p + "ln_2.weight"] = 1 + 0.1 * torch.randn(C, generator=g)
        w[p + "ln_2.bias"] = 0.1 * torch.randn(C, generator=g)
        w[p + "mlp.c_fc.weight"] = torch.randn(C, I, generator=g) * 0.2
        w[p + "mlp.c_fc.bias"] = 0.1 * torch.randn(I, generator=g)
        w[p + "mlp.c_proj.weight"] = torch.randn(I, C, generator=g) * 0.2
        w[p + "mlp.c_proj.bias"] = 0.1 * torch.randn(C, generator=g)
    w["transformer.ln_f.weight"] = 1 + 0.1 * torch.randn(C, generator=g)
    w["transformer.ln_f.bias"] = 0.1 * torch.randn(C, generator=g)
    return w


def gelu_new(x):
    return 0.5 * x * (1.0 + torch.tanh(math.sqrt(2.0 / math.pi) * (x + 0.044715 * torch.pow(x, 3.0))))


def gpt2_forward(w, ids, L, NH, C):
    W = {k: v.double() for k, v in w.items()}
    T = len(ids)
    HS = C // NH
    x = W["transformer.wte.weight"][ids] + W["transformer.wpe.weight"][:T]
    mask = torch.tril(torch.ones(T, T, dtype=torch.bool))
    for l in range(L):
        p = f"transformer.h.{l}."
        h = torch.nn.functional.layer_norm(x, (C,), W[p + "ln_1.weight"], W[p + "ln_1.bias"], 1e-5)
        qkv = h @ W[p + "attn.c_attn.weight"] + W[p + "attn.c_attn.bias"]
        q, k, v = qkv.split(C, dim=-1)
        q = q.view(T, NH, HS).transpose(0, 1)
        k = k.view(T, NH, HS).transpose(0, 1)
        v = v.view(T, NH, HS).transpose(0, 1)
        att = (q @ k.transpose(-1, -2)) / math.sqrt(HS)
        att = att.masked_fill(~mask, float("-inf")).softmax(-1)
        a = (att @ v).transpose(0, 1).reshape(T, C)
        x = x + a @ W[p + "attn.c_proj.weight"] + W[p + "attn.c_proj.bias"]
        h = torch.nn.functional.layer_norm(x, (C,), W[p + "ln_2.weight"], W[p + "ln_2.bias"], 1e-5)
        x = x + gelu_new(h @ W[p + "mlp.c_fc.weight"] + W[p + "mlp.c_fc.bias"]) @ W[p + "mlp.c_proj.weight"] + W[p + "mlp.c_proj.bias"]
    x = torch.nn.functional.layer_norm(x, (C,), W["transformer.ln_f.weight"], W["transformer.ln_f.bias"], 1e-5)
    return x @ W["transformer.wte.weight"].T


def llama_weights(L, C, NH, NKV, V, I, g):
    HS = C // NH
    w = {"model.embed_tokens.weight": torch.randn(V, C, generator=g) * 0.5}
    for l in range(L):
        p = f"model.layers.{l}."
        w[p + "input_layernorm.weight"] = 1 + 0.1 * torch.randn(C, generator=g)
        w[p + "self_attn.q_proj.weight"] = torch.randn(NH * HS, C, generator=g) * 0.2   # nn.Linear: (out, in)
        w[p + "self_attn.k_proj.weight"] = torch.randn(NKV * HS, C, generator=g) * 0.2
        w[p + "self_attn.v_proj.weight"] = torch.randn(NKV * HS, C, generator=g) * 0.2
        w[p + "self_attn.o_proj.weight"] = torch.randn(C, NH * HS, generator=g) * 0.2
        w[p + "post_attention_layernorm.weight"] = 1 + 0.1 * torch.randn(C, generator=g)
        w[p + "mlp.gate_proj.weight"] = torch.randn(I, C, generator=g) * 0.2
        w[p + "mlp.up_proj.weight"] = torch.randn(I, C, generator=g) * 0.2
        w[p + "mlp.down_proj.weight"] = torch.randn(C, I, generator=g) * 0.2
    w["model.norm.weight"] = 1 + 0.1 * torch.randn(C, generator=g)
    w["lm_head.weight"] = torch.randn(V, C, generator=g) * 0.3
    return w


def rms_norm(x, weight, eps):
    return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + eps) * weight


def rotate_half(x):
    h = x.shape[-1] // 2
    return torch.cat((-x[..., h:], x[..., :h]), dim=-1)


def llama_forward(w, ids, L, NH, NKV, C, theta=10000.0):
    W = {k: v.double() for k, v in w.items()}
    T = len(ids)
    HS = C // NH
    inv_freq = 1.0 / (theta ** (torch.arange(0, HS, 2, dtype=torch.float64) / HS))
    freqs = torch.outer(torch.arange(T, dtype=torch.float64), inv_freq)
    emb = torch.cat((freqs, freqs), dim=-1)
    cos, sin = emb.cos(), emb.sin()
    x = W["model.embed_tokens.weight"][ids]
    mask = torch.tril(torch.ones(T, T, dtype=torch.bool))
    for l in range(L):
        p = f"model.layers.{l}."
        h = rms_norm(x, W[p + "input_layernorm.weight"], 1e-5)
        q = (h @ W[p + "self_attn.q_proj.weight"].T).view(T, NH, HS).transpose(0, 1)
        k = (h @ W[p + "self_attn.k_proj.weight"].T).view(T, NKV, HS).transpose(0, 1)
        v = (h @ W[p + "self_attn.v_proj.weight"].T).view(T, NKV, HS).transpose(0, 1)
        q = q * cos + rotate_half(q) * sin
        k = k * cos + rotate_half(k) * sin
        k = k.repeat_interleave(NH // NKV, dim=0)   # repeat_kv: query head h reads kv head h // (NH/NKV)
        v = v.repeat_interleave(NH // NKV, dim=0)
        att = (q @ k.transpose(-1, -2)) / math.sqrt(HS)
        att = att.masked_fill(~mask, float("-inf")).softmax(-1)
        a = (att @ v).transpose(0, 1).reshape(T, NH * HS)
        x = x + a @ W[p + "self_attn.o_proj.weight"].T
        h = rms_norm(x, W[p + "post_attention_layernorm.weight"], 1e-5)
        g = h @ W[p + "mlp.gate_proj.weight"].T
        u = h @ W[p + "mlp.up_proj.weight"].T
        x = x + (torch.nn.functional.silu(g) * u) @ W[p + "mlp.down_proj.weight"].T
    x = rms_norm(x, W["model.norm.weight"], 1e-5)
    return x @ W["lm_head.weight"].T


def greedy(forward, vocab_used, prompt=PROMPT):
    ids = list(prompt)
    margin = float("inf")
    for _ in range(NEW_TOKENS):
        logits = forward(ids)[-1, :vocab_used]
        top = torch.topk(logits, 2).values
        margin = min(margin, float(top[0] - top[1]))
        ids.append(int(torch.argmax(logits)))
    return ids, forward(ids), margin


def bytes_to_unicode():
    """GPT-2's byte-level alphabet: printable bytes map to themselves, the rest to U+0100 onwards."""
    bs = list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1)) + list(range(ord("®"), ord("ÿ") + 1))
    cs = bs[:]
    n = 0
    for b in range(256):
        if b not in bs:
            bs.append(b)
            cs.append(256 + n)
            n += 1
    return dict(zip(bs, [chr(c) for c in cs]))


MERGES = [("t", "h"), ("h", "e"), ("Ġ", "t"), ("th", "e"), ("Ġt", "he"), ("a", "n"), ("i", "n")]


def tokenizer_json():
    b2u = bytes_to_unicode()
    vocab = {b2u[b]: b for b in range(256)}
    for i, (a, b) in enumerate(MERGES):
        vocab[a + b] = 256 + i
    eot = 256 + len(MERGES)
    return {
        "version": "1.0",
        "truncation": None, "padding": None,
        "added_tokens": [{"id": eot, "content": "<|endoftext|>", "single_word": False, "lstrip": False, "rstrip": False, "normalized": True, "special": True}],
        "normalizer": None,
        "pre_tokenizer": {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": True, "use_regex": True},
        "post_processor": None,
        "decoder": {"type": "ByteLevel", "add_prefix_space": True, "trim_offsets": True, "use_regex": True},
        "model": {"type": "BPE", "dropout": None, "unk_token": None, "continuing_subword_prefix": "", "end_of_word_suffix": "",
                  "fuse_unk": False, "byte_fallback": False, "vocab": vocab, "merges": [f"{a} {b}" for a, b in MERGES]},
    }


def write(name, config, weights, ids, logits, margin, tokenizer=None, prompt=PROMPT):
    here = os.path.dirname(os.path.abspath(__file__))
    out = os.path.join(here, "..", "tests", "SharpLM.Models.Tests", "Fixtures", "generate", name)
    os.makedirs(out, exist_ok=True)
    save_file({k: v.float().contiguous() for k, v in weights.items()}, os.path.join(out, "model.safetensors"), metadata={"format": "pt"})
    with open(os.path.join(out, "config.json"), "w") as f:
        json.dump(config, f, indent=2)
        f.write("\n")
    expected = {
        "torch_version": torch.__version__, "seed": SEED, "prompt": prompt, "new_tokens": NEW_TOKENS,
        "tokens": ids, "min_greedy_margin": margin,
        "logits_shape": list(logits.shape), "logits": [round(float(v), 7) for v in logits.flatten()],
    }
    if tokenizer is not None:
        with open(os.path.join(out, "tokenizer.json"), "w", encoding="utf-8") as f:
            json.dump(tokenizer, f, ensure_ascii=False)
            f.write("\n")
    with open(os.path.join(out, "expected.json"), "w") as f:
        json.dump(expected, f)
        f.write("\n")
    print(f"{name}: tokens {ids[len(prompt):]}, min margin {margin:.4f}")


def main():
    g = torch.Generator().manual_seed(SEED)
    # GPT-2: L=2, NH=4, C=64, T=32, V=96 rows with 90 real ids.
    L, NH, C, T, V, Vused = 2, 4, 64, 32, 96, 90
    w = gpt2_weights(L, C, V, T, 4 * C, g)
    w = {k: v.float() for k, v in w.items()}   # the weights the checkpoint holds, then computed in float64
    ids, logits, margin = greedy(lambda s: gpt2_forward(w, s, L, NH, C), Vused)
    write("gpt2", {"architectures": ["GPT2LMHeadModel"], "model_type": "gpt2", "n_layer": L, "n_head": NH, "n_embd": C,
                   "n_positions": T, "n_ctx": T, "vocab_size": V, "sharplm_vocab_size": Vused, "layer_norm_epsilon": 1e-5,
                   "activation_function": "gelu_new", "tie_word_embeddings": True}, w, ids, logits, margin)

    # Llama: L=2, NH=4, NKV=2 (GQA), C=64, I=96, T=64, V=96.
    L, NH, NKV, C, I, T, V = 2, 4, 2, 64, 96, 64, 96
    w = llama_weights(L, C, NH, NKV, V, I, g)
    w = {k: v.float() for k, v in w.items()}
    ids, logits, margin = greedy(lambda s: llama_forward(w, s, L, NH, NKV, C), V)
    write("llama", {"architectures": ["LlamaForCausalLM"], "model_type": "llama", "num_hidden_layers": L,
                    "num_attention_heads": NH, "num_key_value_heads": NKV, "hidden_size": C, "intermediate_size": I,
                    "max_position_embeddings": T, "vocab_size": V, "rms_norm_eps": 1e-5, "rope_theta": 10000.0,
                    "hidden_act": "silu", "tie_word_embeddings": False}, w, ids, logits, margin)

    # Llama with a byte-level BPE vocabulary (264 ids, none padded): L=2, NH=4, NKV=2, C=64, I=96, T=64.
    V = 264
    w = llama_weights(L, C, NH, NKV, V, I, g)
    w = {k: v.float() for k, v in w.items()}
    # llama.cpp keeps its KV cache in f16 by default, so greedy choices must not be near-ties: take the first
    # candidate prompt whose smallest top-1/top-2 margin is at least 0.1.
    for prompt in ([116, 104, 101, 32, 99, 97, 116], [3, 17, 42, 5, 60], [72, 101, 108, 108, 111], [10, 20, 30, 40], [200, 100, 50, 25], [1, 2, 3]):
        ids, logits, margin = greedy(lambda s: llama_forward(w, s, L, NH, NKV, C), V, prompt)
        if margin >= 0.1:
            break
    write("llama_bpe", {"architectures": ["LlamaForCausalLM"], "model_type": "llama", "num_hidden_layers": L,
                        "num_attention_heads": NH, "num_key_value_heads": NKV, "hidden_size": C, "intermediate_size": I,
                        "max_position_embeddings": T, "vocab_size": V, "rms_norm_eps": 1e-5, "rope_theta": 10000.0,
                        "hidden_act": "silu", "tie_word_embeddings": False}, w, ids, logits, margin, tokenizer_json(), prompt)

    # GPT-2 with the byte-level BPE vocabulary (264 ids, none padded): L=2, NH=4, C=64, T=64; prompt chosen as above.
    L, NH, C, T, V = 2, 4, 64, 64, 264
    w = gpt2_weights(L, C, V, T, 4 * C, g)
    w = {k: v.float() for k, v in w.items()}
    for prompt in ([116, 104, 101, 32, 99, 97, 116], [3, 17, 42, 5, 60], [72, 101, 108, 108, 111], [10, 20, 30, 40], [200, 100, 50, 25], [1, 2, 3]):
        ids, logits, margin = greedy(lambda s: gpt2_forward(w, s, L, NH, C), V, prompt)
        if margin >= 0.1:
            break
    write("gpt2_bpe", {"architectures": ["GPT2LMHeadModel"], "model_type": "gpt2", "n_layer": L, "n_head": NH, "n_embd": C,
                       "n_positions": T, "n_ctx": T, "vocab_size": V, "layer_norm_epsilon": 1e-5,
                       "activation_function": "gelu_new", "tie_word_embeddings": True}, w, ids, logits, margin, tokenizer_json(), prompt)


if __name__ == "__main__":
    main()
