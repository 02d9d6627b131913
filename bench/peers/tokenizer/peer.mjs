// Peer measurements for `sharplm bench tokenizer --vs-peer`, run on the same file in the same invocation:
//  - encode throughput of @dqbd/tiktoken (the Rust core compiled to WASM) and js-tiktoken (pure JS), one thread,
//    encode_ordinary on each line of the file (the same documents SharpLM encodes), MB of UTF-8 per second;
//  - training time of the Hugging Face tokenizers BPE trainer (npm @anush008/tokenizers, native Rust) on the file
//    with its default trainer (vocabulary 30000; the binding exposes no other size) and the GPT-2 ByteLevel
//    pre-tokenizer, reading the file line by line with all cores.
// Packages come from reference/tokenizer/node_modules (run reference/tokenizer/setup.sh once).
// Usage: node peer.mjs --file F [--encoding cl100k_base] [--repeats 3] [--no-train] [--no-js]
// Prints one JSON object per line: {"peer","case","value","unit","version"}, and cpu_value: the same measure per
// CPU-second of the process (MB per CPU-second for encode, CPU seconds for training), which a loaded machine
// distorts far less than wall time.
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { createRequire } from 'node:module';

const here = path.dirname(fileURLToPath(import.meta.url));
const refDir = path.resolve(here, '../../../reference/tokenizer');
const require = createRequire(path.join(refDir, 'package.json'));
const version = (p) => JSON.parse(fs.readFileSync(path.join(refDir, 'node_modules', p, 'package.json'), 'utf8')).version;

const args = process.argv.slice(2);
const opt = (name, dflt) => { const i = args.indexOf(name); return i >= 0 ? args[i + 1] : dflt; };
const file = opt('--file');
const encoding = opt('--encoding', 'cl100k_base');
const repeats = Number(opt('--repeats', '3'));
if (!file) { console.error('--file is required'); process.exit(2); }

const text = fs.readFileSync(file, 'utf8');
const docs = text.split('\n');
const mb = docs.reduce((s, d) => s + Buffer.byteLength(d, 'utf8'), 0) / 1e6;
const median = (xs) => { const s = [...xs].sort((a, b) => a - b); return s[Math.floor(s.length / 2)]; };
const time = (fn) => { const t0 = process.hrtime.bigint(); fn(); return Number(process.hrtime.bigint() - t0) / 1e9; };
// CPU seconds of the whole process (all threads) spent in fn: robust to a loaded machine where wall time is not
let lastCpu = 0;
const timeCpu = (fn) => { const c0 = process.cpuUsage(); const s = time(fn); const c = process.cpuUsage(c0); lastCpu = (c.user + c.system) / 1e6; return s; };
const cpuOf = (fn) => { const xs = []; return { run: () => { const s = timeCpu(fn); xs.push(lastCpu); return s; }, median: () => median(xs) }; };
const emit = (o) => console.log(JSON.stringify(o));

{
  const { get_encoding } = require('@dqbd/tiktoken');
  const enc = get_encoding(encoding);
  let tokens = 0;
  const run = () => { tokens = 0; for (const d of docs) tokens += enc.encode_ordinary(d).length; };
  run(); // warm-up
  const secs = [];
  const cpu = cpuOf(run);
  for (let r = 0; r < repeats; r++) secs.push(cpu.run());
  emit({ peer: '@dqbd/tiktoken', case: `encode ${encoding}`, value: mb / median(secs), unit: 'MB/s', cpu_value: mb / cpu.median(), tokens, version: version('@dqbd/tiktoken') });
  enc.free();
}

if (!args.includes('--no-js')) {
  const { getEncoding } = require('js-tiktoken');
  const enc = getEncoding(encoding);
  let tokens = 0;
  const run = () => { tokens = 0; for (const d of docs) tokens += enc.encode(d, [], []).length; };
  const s = time(run); // pure JS is slow: one timed run after the first
  const secs = [Math.min(s, time(run))];
  emit({ peer: 'js-tiktoken', case: `encode ${encoding}`, value: mb / median(secs), unit: 'MB/s', tokens, version: version('js-tiktoken') });
}

if (!args.includes('--no-train')) {
  const tk = require('@anush008/tokenizers');
  const json = {
    version: '1.0', truncation: null, padding: null, added_tokens: [], normalizer: null,
    pre_tokenizer: { type: 'ByteLevel', add_prefix_space: false, trim_offsets: true, use_regex: true },
    post_processor: null, decoder: null,
    model: { type: 'BPE', dropout: null, unk_token: null, continuing_subword_prefix: null, end_of_word_suffix: null, fuse_unk: false, byte_fallback: false, vocab: {}, merges: [] },
  };
  const secs = [];
  let merges = 0;
  let tok = null;
  const cpu = cpuOf(() => tok.train([file]));
  for (let r = 0; r < Math.max(1, Math.min(repeats, 3)); r++) {
    tok = tk.Tokenizer.fromString(JSON.stringify(json));
    secs.push(cpu.run());
    merges = tok.getVocabSize(true);
  }
  emit({ peer: 'hf-tokenizers', case: 'train gpt2 vocab 30000', value: median(secs), unit: 's', cpu_value: cpu.median(), vocab: merges, version: version('@anush008/tokenizers') });
}
