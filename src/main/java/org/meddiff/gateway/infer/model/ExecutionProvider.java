package org.meddiff.gateway.infer.model;

import java.util.Locale;

/** Execution provider setting: {@code cpu}, {@code cuda} (device 0) or {@code cuda:N}. */
public record ExecutionProvider(Kind kind, int deviceId) {

    public enum Kind {
        CPU,
        CUDA
    }

    public static final ExecutionProvider CPU = new ExecutionProvider(Kind.CPU, 0);

    public static ExecutionProvider parse(String s) {
        String v = s == null ? "cpu" : s.trim().toLowerCase(Locale.ROOT);
        if (v.isEmpty() || v.equals("cpu")) {
            return CPU;
        }
        if (v.equals("cuda")) {
            return new ExecutionProvider(Kind.CUDA, 0);
        }
        if (v.startsWith("cuda:")) {
            try {
                int id = Integer.parseInt(v.substring(5));
                if (id >= 0) {
                    return new ExecutionProvider(Kind.CUDA, id);
                }
            } catch (NumberFormatException e) {
                // fall through
            }
        }
        throw new IllegalArgumentException("execution provider must be cpu, cuda or cuda:<device id>: '" + s + "'");
    }

    @Override
    public String toString() {
        return kind == Kind.CPU ? "cpu" : "cuda:" + deviceId;
    }
}
