/**
 * MedDiff-FM sampling arithmetic, pure Java: no I/O, no ONNX Runtime, no CDI. Reproduces the numbered
 * "Sampler specification" of onnx-export/README.md (float64 scalar coefficients rounded to float32,
 * float32 element-wise arithmetic, patch accumulation order) and is tested against the Python reference's
 * golden files. The network is behind {@link org.meddiff.gateway.infer.diffusion.EpsilonModel}; the noise
 * behind {@link org.meddiff.gateway.infer.diffusion.NoiseSource}.
 */
package org.meddiff.gateway.infer.diffusion;
