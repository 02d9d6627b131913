#!/usr/bin/env bash
# Installs the reference tokenizers (npm) used to produce the committed fixtures and for
# `sharplm bench tokenizer --vs-peer`. Tests never need this: fixtures are committed.
set -euo pipefail
cd "$(dirname "$0")"
npm install --no-audit --no-fund --loglevel=error
