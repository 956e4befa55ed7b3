import ai.onnxruntime.*;
import java.nio.*;
import java.nio.file.*;
import java.util.*;

/** Runs an ONNX model with ONNX Runtime Java on raw little-endian inputs and writes the first
 *  output as raw float32. Used by the Python tests for ONNX/PyTorch parity (there is no
 *  onnxruntime for Python on the build machines).
 *  java -cp onnxruntime.jar OrtRun.java model.onnx out.f32 threads reps name:f32|i64:AxBxC:file ... */
public class OrtRun {
    public static void main(String[] a) throws Exception {
        OrtEnvironment env = OrtEnvironment.getEnvironment();
        OrtSession.SessionOptions so = new OrtSession.SessionOptions();
        so.setIntraOpNumThreads(Integer.parseInt(a[2]));
        so.addConfigEntry("session.intra_op.allow_spinning", "0");
        int reps = Integer.parseInt(a[3]);
        try (OrtSession s = env.createSession(a[0], so)) {
            Map<String, OnnxTensor> in = new LinkedHashMap<>();
            for (int i = 4; i < a.length; i++) {
                String[] p = a[i].split(":", 4);
                long[] shape = Arrays.stream(p[2].split("x")).mapToLong(Long::parseLong).toArray();
                ByteBuffer bb = ByteBuffer.wrap(Files.readAllBytes(Path.of(p[3]))).order(ByteOrder.LITTLE_ENDIAN);
                in.put(p[0], p[1].equals("f32") ? OnnxTensor.createTensor(env, bb.asFloatBuffer(), shape)
                                                : OnnxTensor.createTensor(env, bb.asLongBuffer(), shape));
            }
            OrtSession.Result r = s.run(in); // warm-up run, also the output
            long t0 = System.nanoTime();
            for (int k = 0; k < reps; k++) s.run(in).close();
            double sec = reps > 0 ? (System.nanoTime() - t0) / 1e9 / reps : -1;
            OnnxTensor o = (OnnxTensor) r.get(0);
            FloatBuffer fb = o.getFloatBuffer();
            ByteBuffer ob = ByteBuffer.allocate(fb.remaining() * 4).order(ByteOrder.LITTLE_ENDIAN);
            ob.asFloatBuffer().put(fb);
            Files.write(Path.of(a[1]), ob.array());
            System.out.println("shape " + Arrays.toString(o.getInfo().getShape()) + " seconds_per_run " + sec);
        }
    }
}
