// Greedy-decodes token ids with llama.cpp (node-llama-cpp's prebuilt CPU binary) from a GGUF file and prints
// JSON {tokens}. Usage: node run_gguf.mjs <model.gguf> <comma-separated prompt ids> <new tokens>
import {getLlama} from "node-llama-cpp";

const [path, promptText, nText] = process.argv.slice(2);
const prompt = promptText.split(",").map(Number);
const n = Number(nText);
const llama = await getLlama({gpu: false, logLevel: "error"});
const model = await llama.loadModel({modelPath: path});
const context = await model.createContext({contextSize: 64, batchSize: 64, threads: 1});
const sequence = context.getSequence();
const out = [];
for await (const token of sequence.evaluate(prompt, {temperature: 0})) {
    out.push(Number(token));
    if (out.length >= n) break;
}
console.log(JSON.stringify({tokens: out}));
await context.dispose();
await model.dispose();
