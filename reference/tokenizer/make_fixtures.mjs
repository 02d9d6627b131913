// Writes the tokenizer reference fixtures under tests/SharpLM.Text.Tests/Fixtures/tokenizer/:
//  - <enc>.tiktoken.gz    rank files of gpt2, cl100k_base, o200k_base (from @dqbd/tiktoken's bundled ranks)
//  - <enc>.ids.json       token ids tiktoken produces on the text set in texts.mjs (encode_ordinary, plus
//                         encode with all special tokens allowed), cross-checked between @dqbd/tiktoken
//                         (the Rust core in WASM) and js-tiktoken (pure JS); both must agree or the script fails
//  - train_corpus.txt     a training corpus (licence texts shipped by Debian, this repo's tokenizer sources,
//                         and a multilingual block), and train_<pattern>.json: the merges the Hugging Face
//                         tokenizers BPE trainer (npm @anush008/tokenizers, a binding of the Rust crate) learns
//                         on it with its default trainer (vocab 30000, min_frequency 0), read file line by line.
// Invalid UTF-8 (byte samples): tiktoken's npm APIs take strings only, so the reference ids are made here from
// tiktoken's own pieces: each maximal valid UTF-8 run goes through @dqbd/tiktoken encode_ordinary, and each
// maximal run of invalid bytes is merged by the textbook rule (repeatedly join the adjacent pair whose
// concatenation has the lowest rank, leftmost first) over the rank table, a quadratic loop kept deliberately
// naive. Run: ./setup.sh && node make_fixtures.mjs
import fs from 'node:fs';
import path from 'node:path';
import zlib from 'node:zlib';
import { fileURLToPath } from 'node:url';
import { createRequire } from 'node:module';
import { get_encoding } from '@dqbd/tiktoken';
import { getEncoding } from 'js-tiktoken';
import { texts, byteSamples } from './texts.mjs';

const require = createRequire(import.meta.url);
const here = path.dirname(fileURLToPath(import.meta.url));
const repo = path.resolve(here, '../..');
const out = path.join(repo, 'tests/SharpLM.Text.Tests/Fixtures/tokenizer');
fs.mkdirSync(out, { recursive: true });
const pkgVersion = (p) => JSON.parse(fs.readFileSync(path.join(here, 'node_modules', p, 'package.json'), 'utf8')).version;
const versions = {
  '@dqbd/tiktoken': pkgVersion('@dqbd/tiktoken'),
  'js-tiktoken': pkgVersion('js-tiktoken'),
  '@anush008/tokenizers': pkgVersion('@anush008/tokenizers'),
  node: process.version,
};

// ------------------------------------------------------------------ rank files

function ranksOf(name) {
  const json = JSON.parse(fs.readFileSync(path.join(here, 'node_modules/@dqbd/tiktoken/encoders', `${name}.json`), 'utf8'));
  const ranks = []; // [base64, rank]
  for (const line of json.bpe_ranks.split('\n')) {
    if (!line) continue;
    const [, offsetStr, ...tokens] = line.split(' ');
    const offset = Number.parseInt(offsetStr, 10);
    tokens.forEach((t, i) => ranks.push([t, offset + i]));
  }
  ranks.sort((a, b) => a[1] - b[1]);
  return { ranks, special: json.special_tokens, pattern: json.pat_str };
}

function writeRankFile(name, ranks) {
  const text = ranks.map(([t, r]) => `${t} ${r}\n`).join('');
  fs.writeFileSync(path.join(out, `${name}.tiktoken.gz`), zlib.gzipSync(Buffer.from(text, 'ascii'), { level: 9 }));
}

// ------------------------------------------------------------------ invalid UTF-8 reference

// Length of the well-formed UTF-8 character at bytes[i] (Unicode Table 3-7), or 0.
function charLen(b, i) {
  const x = b[i];
  const cont = (k, lo = 0x80, hi = 0xbf) => i + k < b.length && b[i + k] >= lo && b[i + k] <= hi;
  if (x < 0x80) return 1;
  if (x >= 0xc2 && x <= 0xdf) return cont(1) ? 2 : 0;
  if (x === 0xe0) return cont(1, 0xa0) && cont(2) ? 3 : 0;
  if ((x >= 0xe1 && x <= 0xec) || x === 0xee || x === 0xef) return cont(1) && cont(2) ? 3 : 0;
  if (x === 0xed) return cont(1, 0x80, 0x9f) && cont(2) ? 3 : 0;
  if (x === 0xf0) return cont(1, 0x90) && cont(2) && cont(3) ? 4 : 0;
  if (x >= 0xf1 && x <= 0xf3) return cont(1) && cont(2) && cont(3) ? 4 : 0;
  if (x === 0xf4) return cont(1, 0x80, 0x8f) && cont(2) && cont(3) ? 4 : 0;
  return 0;
}

function naiveMerge(bytes, rankOf) {
  let parts = Array.from(bytes, (x) => [x]);
  for (;;) {
    let best = -1, bestRank = Infinity;
    for (let i = 0; i + 1 < parts.length; i++) {
      const r = rankOf.get(Buffer.from([...parts[i], ...parts[i + 1]]).toString('latin1'));
      if (r !== undefined && r < bestRank) { bestRank = r; best = i; }
    }
    if (best < 0) break;
    parts.splice(best, 2, [...parts[best], ...parts[best + 1]]);
  }
  return parts.map((p) => rankOf.get(Buffer.from(p).toString('latin1')));
}

function encodeBytesReference(enc, bytes, rankOf) {
  const ids = [];
  let i = 0;
  while (i < bytes.length) {
    let j = i;
    while (j < bytes.length && charLen(bytes, j) > 0) j += charLen(bytes, j);
    if (j > i) {
      ids.push(...enc.encode_ordinary(Buffer.from(bytes.slice(i, j)).toString('utf8')));
      i = j;
      continue;
    }
    while (j < bytes.length && charLen(bytes, j) === 0) j++;
    ids.push(...naiveMerge(bytes.slice(i, j), rankOf));
    i = j;
  }
  return ids;
}

// ------------------------------------------------------------------ id fixtures

function same(a, b) {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}

for (const name of ['gpt2', 'cl100k_base', 'o200k_base']) {
  const { ranks, special, pattern } = ranksOf(name);
  writeRankFile(name, ranks);
  const rankOf = new Map(ranks.map(([t, r]) => [Buffer.from(t, 'base64').toString('latin1'), r]));
  const wasm = get_encoding(name);
  const js = getEncoding(name);
  const cases = [];
  for (const [caseName, text] of texts) {
    const ids = Array.from(wasm.encode_ordinary(text));
    const jsIds = js.encode(text, [], []);
    if (!same(ids, jsIds)) throw new Error(`${name}/${caseName}: @dqbd/tiktoken and js-tiktoken disagree`);
    const decoded = Buffer.from(wasm.decode(new Uint32Array(ids))).toString('utf8');
    if (decoded !== text) throw new Error(`${name}/${caseName}: tiktoken does not round-trip`);
    cases.push({ name: caseName, text, ids });
  }
  for (const [caseName, bytes] of byteSamples) {
    const ids = encodeBytesReference(wasm, bytes, rankOf);
    const back = Buffer.from(wasm.decode(new Uint32Array(ids)));
    if (!same([...back], bytes)) throw new Error(`${name}/${caseName}: byte reference does not round-trip`);
    cases.push({ name: caseName, bytes_b64: Buffer.from(bytes).toString('base64'), ids });
  }
  const specialCases = [];
  for (const [caseName, text] of texts.filter(([n]) => n === 'special_text' || n === 'prose')) {
    const ids = Array.from(wasm.encode(text, 'all'));
    const jsIds = js.encode(text, 'all');
    if (!same(ids, jsIds)) throw new Error(`${name}/${caseName}: special-token encodings disagree`);
    specialCases.push({ name: caseName, text, ids });
  }
  let refuses = false;
  try { wasm.encode('x <|endoftext|> y'); } catch { refuses = true; }
  if (!refuses) throw new Error(`${name}: tiktoken did not refuse special-token text by default`);
  wasm.free();
  fs.writeFileSync(path.join(out, `${name}.ids.json`), JSON.stringify({
    encoding: name, versions, pattern, special_tokens: special, vocab_ranks: ranks.length,
    cases, allow_all_special: specialCases,
  }, null, 1) + '\n');
  console.log(`${name}: ${ranks.length} ranks, ${cases.length} cases`);
}

// ------------------------------------------------------------------ training corpus and HF merges

const multilingual = texts.filter(([n]) => !['empty', 'only_spaces', 'only_newlines', 'special_text'].includes(n))
  .map(([, t]) => t).join('\n');
const parts = [];
for (const lic of ['Apache-2.0', 'GPL-3', 'LGPL-2.1', 'MPL-2.0', 'GFDL-1.3', 'Artistic', 'CC0-1.0', 'BSD']) {
  parts.push(fs.readFileSync(`/usr/share/common-licenses/${lic}`, 'utf8'));
}
for (const f of fs.readdirSync(path.join(repo, 'src/SharpLM.Text/Tokenization')).sort()) {
  parts.push(fs.readFileSync(path.join(repo, 'src/SharpLM.Text/Tokenization', f), 'utf8'));
}
for (let i = 0; i < 20; i++) parts.push(multilingual);
const corpusPath = path.join(out, 'train_corpus.txt');
if (!fs.existsSync(corpusPath)) fs.writeFileSync(corpusPath, parts.join('\n'));

const tk = require('@anush008/tokenizers');
const cl100k = ranksOf('cl100k_base').pattern;
const preTokenizers = {
  gpt2: { type: 'ByteLevel', add_prefix_space: false, trim_offsets: true, use_regex: true },
  cl100k: {
    type: 'Sequence', pretokenizers: [
      { type: 'Split', pattern: { Regex: cl100k }, behavior: 'Isolated', invert: false },
      { type: 'ByteLevel', add_prefix_space: false, trim_offsets: true, use_regex: false },
    ],
  },
};
for (const [pat, pre] of Object.entries(preTokenizers)) {
  const json = {
    version: '1.0', truncation: null, padding: null, added_tokens: [], normalizer: null, pre_tokenizer: pre,
    post_processor: null, decoder: { type: 'ByteLevel', add_prefix_space: true, trim_offsets: true, use_regex: true },
    model: {
      type: 'BPE', dropout: null, unk_token: null, continuing_subword_prefix: null, end_of_word_suffix: null,
      fuse_unk: false, byte_fallback: false, vocab: {}, merges: [],
    },
  };
  const tok = tk.Tokenizer.fromString(JSON.stringify(json));
  const t0 = process.hrtime.bigint();
  tok.train([corpusPath]);
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
  const tmp = path.join(out, `.hf_${pat}.json`);
  tok.save(tmp, false);
  const saved = JSON.parse(fs.readFileSync(tmp, 'utf8'));
  fs.unlinkSync(tmp);
  const merges = saved.model.merges.map((m) => (Array.isArray(m) ? m : m.split(' ')));
  // the trained tokenizer.json as Hugging Face writes it, and the ids Hugging Face gives with it on the text set
  // (with a special token added, so that added_tokens is read too)
  tok.addSpecialTokens(['<|endoftext|>']);
  tok.save(tmp, false);
  fs.writeFileSync(path.join(out, `hf_${pat}.tokenizer.json.gz`), zlib.gzipSync(fs.readFileSync(tmp), { level: 9 }));
  fs.unlinkSync(tmp);
  const hfCases = [];
  for (const [caseName, text] of texts) {
    if (text.length === 0) continue;
    const enc = await tok.encode(text);
    hfCases.push({ name: caseName, text, ids: enc.getIds() });
  }
  fs.writeFileSync(path.join(out, `hf_${pat}.ids.json`), JSON.stringify({ versions, cases: hfCases }, null, 1) + '\n');
  fs.writeFileSync(path.join(out, `train_${pat}.json`), JSON.stringify({
    trainer: 'Hugging Face tokenizers BpeTrainer (default: vocab_size 30000, min_frequency 0), files read line by line',
    versions, pattern: pat, corpus: 'train_corpus.txt', alphabet: Object.keys(saved.model.vocab).length - merges.length,
    merges,
  }) + '\n');
  console.log(`train ${pat}: ${merges.length} merges in ${seconds.toFixed(2)} s`);
}
