/**
 * CT volumes to and from the diffusion grid: 1 mm resampling, region windows, HU-threshold anatomy
 * classes, padding, the thick-to-thin grid, region choice, and {@link org.meddiff.gateway.infer.pipeline.DiffusionPipeline}
 * which runs a whole task on a series volume.
 */
package org.meddiff.gateway.infer.pipeline;
