#!/usr/bin/env python3
"""Writes the safetensors golden fixture used by tests/SharpLM.Models.Tests.

What it is: tensors made with PyTorch (fixed seed) saved in the safetensors format, plus a JSON file
listing every element's exact value, so the C# reader can be checked value for value and the C# writer
byte for byte.

The `safetensors` Python package is not available on this machine (Debian bookworm has no
python3-safetensors and only Debian packages are installable), so `save_file` below writes the format
per the published spec and mirrors the reference implementation's choices (huggingface/safetensors,
safetensors/src/tensor.rs, `prepare` + `Metadata::serialize`):
  * 8-byte little-endian unsigned header length N, then N bytes of UTF-8 JSON, then the data buffer;
  * JSON is compact (serde_json: no spaces, non-ASCII written raw), `__metadata__` first if present,
    then one entry per tensor in data order: {"dtype":..,"shape":[..],"data_offsets":[begin,end]};
  * tensors are ordered by dtype descending in the reference's Dtype enum order (largest alignment
    first: U64, I64, F64, F32, U32, I32, BF16, F16, U16, I16, ..., BOOL), ties broken by name;
  * the header is padded with spaces (0x20) to a multiple of 8 bytes;
  * data offsets are relative to the first byte after the header, contiguous, no gaps.
Element bytes come from torch itself (tensor.numpy().tobytes(), bf16 through a same-width int16 view).

Run: /usr/bin/python3 reference/formats/make_safetensors.py   (torch 1.13.0a0 from Debian python3-torch)
Outputs tests/SharpLM.Models.Tests/Fixtures/reference.safetensors and reference_expected.json.
"""
import json
import os
import struct

import torch

# The reference implementation's Dtype enum order (ascending); serialisation sorts descending.
DTYPE_ORDER = ["BOOL", "U8", "I8", "F8_E5M2", "F8_E4M3", "I16", "U16", "F16", "BF16",
               "I32", "U32", "F32", "F64", "I64", "U64"]
TORCH_TO_ST = {torch.float32: "F32", torch.bfloat16: "BF16", torch.float16: "F16",
               torch.int32: "I32", torch.int64: "I64", torch.int8: "I8", torch.uint8: "U8"}


def tensor_bytes(t: torch.Tensor) -> bytes:
    t = t.contiguous()
    if t.dtype == torch.bfloat16:
        return t.view(torch.int16).numpy().tobytes()
    return t.numpy().tobytes()


def save_file(tensors: dict, path: str, metadata: dict | None = None) -> None:
    items = sorted(tensors.items(), key=lambda kv: kv[0])
    items.sort(key=lambda kv: DTYPE_ORDER.index(TORCH_TO_ST[kv[1].dtype]), reverse=True)  # stable: name order kept
    header = {}
    if metadata is not None:
        header["__metadata__"] = metadata
    offset = 0
    blobs = []
    for name, t in items:
        b = tensor_bytes(t)
        header[name] = {"dtype": TORCH_TO_ST[t.dtype], "shape": list(t.shape), "data_offsets": [offset, offset + len(b)]}
        offset += len(b)
        blobs.append(b)
    js = json.dumps(header, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
    js += b" " * ((8 - len(js) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(js)))
        f.write(js)
        for b in blobs:
            f.write(b)


def main() -> None:
    torch.manual_seed(1234)
    tensors = {
        "transformer.h.0.attn.c_attn.weight": torch.randn(3, 4, dtype=torch.float32),
        "transformer.h.0.ln_1.bias": torch.randn(5, dtype=torch.float32),
        "transformer.wte.weight": torch.randn(4, 3).to(torch.bfloat16),
        "lm_head.half": torch.randn(2, 3).to(torch.float16),
        "token_ids": torch.tensor([0, 1, -1, 50256, 2**31 - 1, -2**31], dtype=torch.int32),
        "scalar": torch.tensor(3.5, dtype=torch.float32),
        "empty": torch.zeros(0, 3, dtype=torch.float32),
        "odd.bf16": (torch.randn(3) * 100).to(torch.bfloat16),
    }
    here = os.path.dirname(os.path.abspath(__file__))
    out = os.path.join(here, "..", "..", "tests", "SharpLM.Models.Tests", "Fixtures")
    os.makedirs(out, exist_ok=True)
    save_file(tensors, os.path.join(out, "reference.safetensors"), metadata={"format": "pt", "note": "SharpLM fixture é"})
    expected = {"torch_version": torch.__version__, "seed": 1234, "tensors": {}}
    for name, t in tensors.items():
        # Widen to float64 exactly (f32/bf16/f16 all embed exactly in f64) or keep ints.
        values = t.to(torch.float64).flatten().tolist() if t.is_floating_point() else t.flatten().tolist()
        expected["tensors"][name] = {"dtype": TORCH_TO_ST[t.dtype], "shape": list(t.shape), "values": values}
    with open(os.path.join(out, "reference_expected.json"), "w") as f:
        json.dump(expected, f, indent=1)
        f.write("\n")


if __name__ == "__main__":
    main()
