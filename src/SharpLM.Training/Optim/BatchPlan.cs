// Batch arithmetic: a run asks for a total batch size in tokens per optimizer step (e.g. 524,288 = 2^19 as
// in llm.c's GPT-2 124M run); each rank processes micro-batches of B rows × T tokens, so
// accumulation steps = total / (B · T · world). It must divide exactly — a silently rounded batch would
// change the learning dynamics — so a remainder is an error naming all four numbers.
namespace SharpLM.Training.Optim;

/// <summary>Micro-batch and gradient-accumulation arithmetic.</summary>
/// <param name="TotalBatchTokens">Tokens per optimizer step across all ranks.</param>
/// <param name="MicroBatch">Rows per micro-batch (B).</param>
/// <param name="SeqLen">Tokens per row (T).</param>
/// <param name="WorldSize">Data-parallel ranks.</param>
public sealed record BatchPlan(long TotalBatchTokens, int MicroBatch, int SeqLen, int WorldSize = 1)
{
    /// <summary>Tokens one micro-step processes across all ranks (B·T·world).</summary>
    public long TokensPerMicroStep => (long)MicroBatch * SeqLen * WorldSize;

    /// <summary>Micro-steps to accumulate per optimizer step; throws if the total is not a multiple of B·T·world.</summary>
    public int AccumulationSteps
    {
        get
        {
            if (TotalBatchTokens <= 0 || MicroBatch <= 0 || SeqLen <= 0 || WorldSize <= 0)
                throw new ArgumentException($"batch sizes must be positive: total {TotalBatchTokens} tokens, B {MicroBatch}, T {SeqLen}, world {WorldSize}");
            long per = TokensPerMicroStep;
            if (TotalBatchTokens % per != 0)
                throw new ArgumentException($"total batch of {TotalBatchTokens} tokens is not a multiple of B·T·world = {MicroBatch}·{SeqLen}·{WorldSize} = {per}; nearest: {TotalBatchTokens / per * per} or {(TotalBatchTokens / per + 1) * per}");
            return checked((int)(TotalBatchTokens / per));
        }
    }
}
