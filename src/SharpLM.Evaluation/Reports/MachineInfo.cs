// What the run ran on, for the report: CPU model and cores, memory, OS, .NET runtime and the SIMD
// instruction sets the kernels can use.
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace SharpLM.Evaluation.Reports;

/// <summary>Facts about the machine.</summary>
public sealed record MachineInfo(string Cpu, int Cores, long MemoryBytes, string Os, string Runtime, string Simd)
{
    /// <summary>The machine this process runs on.</summary>
    public static MachineInfo Current()
    {
        string cpu = RuntimeInformation.ProcessArchitecture.ToString();
        try
        {
            if (File.Exists("/proc/cpuinfo"))
                foreach (var line in File.ReadLines("/proc/cpuinfo"))
                    if (line.StartsWith("model name", StringComparison.Ordinal)) { cpu = line[(line.IndexOf(':') + 1)..].Trim(); break; }
        }
        catch (IOException) { }
        catch (UnauthorizedAccessException) { }
        var simd = new List<string>();
        if (Vector512.IsHardwareAccelerated) simd.Add("AVX-512");
        if (Avx2.IsSupported) simd.Add("AVX2");
        if (Fma.IsSupported) simd.Add("FMA");
        if (System.Runtime.Intrinsics.Arm.AdvSimd.IsSupported) simd.Add("NEON");
        if (simd.Count == 0) simd.Add("portable");
        return new MachineInfo(cpu, Environment.ProcessorCount, GC.GetGCMemoryInfo().TotalAvailableMemoryBytes,
            RuntimeInformation.OSDescription, RuntimeInformation.FrameworkDescription, string.Join(", ", simd));
    }
}
