"""Runs ONNX models through ONNX Runtime Java (tools/OrtRun.java), found in ~/.m2 or via
$ORT_JAR, with the JDK at $JAVA_HOME, /usr/lib/jvm/temurin-25-jdk-amd64 or `java` on PATH."""
import glob
import os
import shutil
import subprocess
import tempfile
import numpy as np

TOOL = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "tools", "OrtRun.java")


def find_java():
    for c in [os.path.join(os.environ.get("JAVA_HOME", ""), "bin", "java"), "/usr/lib/jvm/temurin-25-jdk-amd64/bin/java"]:
        if os.path.isfile(c):
            return c
    return shutil.which("java")


def find_jar():
    if os.environ.get("ORT_JAR") and os.path.isfile(os.environ["ORT_JAR"]):
        return os.environ["ORT_JAR"]
    hits = sorted(glob.glob(os.path.expanduser("~/.m2/repository/com/microsoft/onnxruntime/onnxruntime/*/onnxruntime-*.jar")))
    hits = [h for h in hits if not h.endswith(("-sources.jar", "-javadoc.jar"))]
    return hits[-1] if hits else None


def available():
    return find_java() is not None and find_jar() is not None


def run(model_path, inputs, threads=2, reps=0, timeout=600):
    """inputs: dict name -> numpy array (float32 or int64). Returns (output float32 array (flat), seconds_per_run, stdout)."""
    java, jar = find_java(), find_jar()
    with tempfile.TemporaryDirectory() as td:
        args = [java, "--enable-native-access=ALL-UNNAMED", "-cp", jar, TOOL, model_path, os.path.join(td, "out.f32"), str(threads), str(reps)]
        if "temurin-25" not in java and not java.endswith("25/bin/java"):
            args.remove("--enable-native-access=ALL-UNNAMED")
        for k, v in inputs.items():
            v = np.ascontiguousarray(v)
            kind = "f32" if v.dtype == np.float32 else "i64"
            fn = os.path.join(td, k + ".bin")
            v.astype("<f4" if kind == "f32" else "<i8").tofile(fn)
            args.append(f"{k}:{kind}:{'x'.join(str(s) for s in v.shape)}:{fn}")
        p = subprocess.run(args, capture_output=True, text=True, timeout=timeout)
        if p.returncode != 0:
            raise RuntimeError(p.stdout + p.stderr)
        out = np.fromfile(os.path.join(td, "out.f32"), dtype="<f4")
        sec = float(p.stdout.strip().split("seconds_per_run")[-1])
        return out, sec, p.stdout
