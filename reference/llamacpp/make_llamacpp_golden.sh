#!/usr/bin/env bash
# Runs SharpLM's GGUF exports in llama.cpp and records what llama.cpp produced, for
# tests/SharpLM.Models.Tests/Inference/LlamaCppTests.cs (tests need neither node nor llama.cpp: the
# result is committed). llama.cpp comes from node-llama-cpp 3.21.1 (its prebuilt CPU binary, npm).
#   1. `sharplm gguf export` of Fixtures/generate/llama_bpe and gpt2_bpe (from reference/generate_golden.py; the
#      llama and gpt2 GGUF architectures) as f32, f16, q8_0;
#   2. llama.cpp greedy-decodes 12 tokens from the fixture's prompt with each file;
#   3. writes Fixtures/generate/<fixture>/llamacpp.json: per type the file's SHA-256 and llama.cpp's tokens.
# Run from anywhere after `dotnet build src/SharpLM.Cli -c Release`.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$here/../.."
sl="$root/src/SharpLM.Cli/bin/Release/net10.0/sharplm"
cd "$here"
[ -d node_modules/node-llama-cpp ] || npm install --no-audit --no-fund --loglevel=error
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
for fixture in llama_bpe gpt2_bpe; do
  fix="$root/tests/SharpLM.Models.Tests/Fixtures/generate/$fixture"
  prompt=$(/usr/bin/python3 -c "import json;print(','.join(map(str,json.load(open('$fix/expected.json'))['prompt'])))")
  out="{\"node_llama_cpp\": \"$(node -p "require('./node_modules/node-llama-cpp/package.json').version")\", \"prompt\": [$prompt], \"exports\": {"
  sep=""
  for t in f32 f16 q8_0; do
    "$sl" gguf export --model "$fix" --out "$tmp/m-$t.gguf" --type "$t" > /dev/null
    sha=$(sha256sum "$tmp/m-$t.gguf" | cut -d' ' -f1)
    toks=$(node run_gguf.mjs "$tmp/m-$t.gguf" "$prompt" 12 2>/dev/null | tail -1)
    out="$out$sep\"$t\": {\"sha256\": \"$sha\", \"llamacpp\": $toks}"
    sep=", "
  done
  echo "$out}}" > "$fix/llamacpp.json"
  cat "$fix/llamacpp.json"
done
