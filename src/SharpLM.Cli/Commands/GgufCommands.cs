// `sharplm gguf export` (a Llama- or GPT-2-style model directory → one .gguf file for llama.cpp / ollama) and
// `sharplm gguf inspect` (header, metadata and tensor table of any GGUF file).
using System.CommandLine;
using System.Globalization;
using SharpLM.Models.Inference;
using SharpLM.Models.IO;
using Spectre.Console;

namespace SharpLM.Cli.Commands;

internal static class GgufCommands
{
    public static Command Create()
    {
        var gguf = new Command("gguf", "Export models to GGUF (llama.cpp / ollama) and inspect GGUF files.");
        gguf.Subcommands.Add(Export());
        gguf.Subcommands.Add(Inspect());
        return gguf;
    }

    private static Command Export()
    {
        var cmd = new Command("export", "Write a model directory (config.json, model.safetensors, tokenizer.json) as GGUF: Llama style as the llama architecture (Q/K rows permuted for llama.cpp's RoPE), GPT-2 style as the gpt2 architecture (fused qkv, biases, learned positions).");
        var model = new Option<string>("--model") { Description = "Model directory.", Required = true };
        var output = new Option<string>("--out") { Description = "Output .gguf file.", Required = true };
        var type = new Option<string>("--type") { Description = "Matrix type: f32, f16 or q8_0 (norms stay f32).", DefaultValueFactory = _ => "f16" };
        var name = new Option<string?>("--name") { Description = "general.name (default: the directory name)." };
        foreach (var o in new Option[] { model, output, type, name }) cmd.Options.Add(o);
        cmd.SetAction(pr => CliErrors.Run(() =>
        {
            string outPath = pr.GetValue(output)!;
            int n = GgufExport.Export(pr.GetValue(model)!, outPath, GgufExport.ParseType(pr.GetValue(type)!), pr.GetValue(name));
            Console.WriteLine($"{outPath}: {n} tensors, {new FileInfo(outPath).Length / 1e6:F1} MB");
            return 0;
        }));
        return cmd;
    }

    private static Command Inspect()
    {
        var cmd = new Command("inspect", "Print a GGUF file's version, metadata and tensors.");
        var file = new Argument<string>("file") { Description = "The .gguf file." };
        var tensors = new Option<bool>("--tensors") { Description = "List every tensor (name, dims, type, offset)." };
        cmd.Arguments.Add(file);
        cmd.Options.Add(tensors);
        cmd.SetAction(pr => CliErrors.Run(() =>
        {
            using var g = GgufFile.Open(pr.GetValue(file)!);
            Console.WriteLine($"{g.Path}: GGUF v{g.Version}, {g.Metadata.Count} metadata keys, {g.Tensors.Count} tensors, alignment {g.Alignment}, data at byte {g.DataStart}");
            var meta = new Table().AddColumns("key", "type", "value");
            foreach (var kv in g.Metadata) meta.AddRow(Markup.Escape(kv.Key), kv.Value.Type.ToString(), Markup.Escape(kv.Value.ToString()));
            AnsiConsole.Write(meta);
            if (pr.GetValue(tensors))
            {
                var t = new Table().AddColumns("tensor", "dims (ne0 first)", "type", "offset", "bytes");
                foreach (var ti in g.Tensors)
                    t.AddRow(Markup.Escape(ti.Name), string.Join(" × ", ti.Dims), ti.Type.ToString(), ti.Offset.ToString(CultureInfo.InvariantCulture), ti.Bytes.ToString(CultureInfo.InvariantCulture));
                AnsiConsole.Write(t);
            }
            return 0;
        }));
        return cmd;
    }
}
