package org.meddiff.gateway.infer.diffusion;

/**
 * Output of a DiffPIR run (normalized window scale, not clipped) and what produced it.
 *
 * @param output         the sampled volume
 * @param timesteps      the t sequence (t_start first)
 * @param rho            rho_t per step (float64)
 * @param sigmaN         the sigma_n used
 * @param lambda         regularization lambda
 * @param zeta           DiffPIR zeta
 * @param patches        network patch evaluations
 * @param networkSeconds time inside the network
 */
public record SamplerResult(
        FloatVolume output,
        int[] timesteps,
        double[] rho,
        double sigmaN,
        double lambda,
        double zeta,
        long patches,
        double networkSeconds) {}
