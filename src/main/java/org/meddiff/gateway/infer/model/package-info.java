/**
 * The model runtime: model cards, ONNX Runtime sessions (sha256-verified, CUDA with CPU fallback), the
 * registry that loads and keeps them, and its configuration ({@code gateway.models.*}).
 */
package org.meddiff.gateway.infer.model;
