namespace SegCluster.Vision.Training.Precision;

/// <summary>Arithmetic of the forward/backward pass; parameters and optimiser state stay float32 in every mode.</summary>
public enum PrecisionMode
{
    /// <summary>Everything in float32.</summary>
    Fp32,

    /// <summary>Convolutions and linear layers in bfloat16 (float32's exponent range: no loss scaling needed).</summary>
    Bf16Mixed,

    /// <summary>Convolutions and linear layers in float16, with dynamic loss scaling (<see cref="DynamicLossScaler"/>).</summary>
    Fp16Mixed,
}
