package org.meddiff.gateway.it.support;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.logging.Level;

import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.common.errors.TopicExistsException;
import org.jboss.logmanager.LogContext;

/**
 * A single-node KRaft Kafka broker run by {@code bin/kafka-broker} as a child process (its PID is
 * the broker JVM's: the script ends in {@code exec java}). Free client/controller ports are chosen
 * once and kept across {@link #restart()}, so {@link #bootstrapServers()} stays valid.
 *
 * <pre>
 * try (KafkaBrokerProcess kafka = KafkaBrokerProcess.start("my-test")) {
 *     String bootstrap = kafka.bootstrapServers();
 *     kafka.kill();      // SIGKILL
 *     kafka.restart();   // same data dir, same ports; waits until ready
 * }
 * </pre>
 * Output goes to target/it-logs/kafka-NAME.log; data to a fresh folder under target/it-work/.
 */
public final class KafkaBrokerProcess implements AutoCloseable {
    private static final Duration READY_TIMEOUT = Duration.ofSeconds(90);

    static {
        quietKafkaClientLogs();
    }

    private final String name;
    private final Path dataDir;
    private final int port;
    private final int controllerPort;
    private final Path log;
    private Process process;

    /**
     * Kafka clients log every config at INFO; in the test JVM (slf4j goes to the JBoss LogManager) keep
     * org.apache.kafka at WARN unless -Dit.kafka.client.log=INFO.
     */
    public static void quietKafkaClientLogs() {
        Level level = Level.parse(System.getProperty("it.kafka.client.log", "WARNING"));
        try {
            LogContext.getLogContext().getLogger("org.apache.kafka").setLevel(level);
        } catch (Throwable ignored) {
            // JBoss LogManager not on the classpath: leave the levels alone
        }
    }

    public KafkaBrokerProcess(String name, Path dataDir) {
        this.name = name;
        this.dataDir = dataDir;
        int[] ports = Ports.free(2);
        this.port = ports[0];
        this.controllerPort = ports[1];
        this.log = Processes.logDir().resolve("kafka-" + name + ".log");
    }

    /** Starts a broker on a fresh data dir under target/it-work/ and waits until it is ready. */
    public static KafkaBrokerProcess start(String name) {
        KafkaBrokerProcess k = new KafkaBrokerProcess(name, Processes.workDir("kafka-" + name));
        k.startProcess();
        return k;
    }

    /** Starts (again) on the same data dir and ports; waits until a metadata request succeeds. */
    public synchronized KafkaBrokerProcess startProcess() {
        if (process != null && process.isAlive()) {
            throw new IllegalStateException("broker " + name + " is already running");
        }
        Processes.logMarker(log, "start kafka broker " + name + " on 127.0.0.1:" + port + " data " + dataDir);
        Path script = Processes.projectRoot().resolve("bin/kafka-broker");
        ProcessBuilder pb = new ProcessBuilder(
                        "bash",
                        script.toString(),
                        "--data-dir",
                        dataDir.toString(),
                        "--port",
                        String.valueOf(port),
                        "--controller-port",
                        String.valueOf(controllerPort))
                .directory(Processes.projectRoot().toFile())
                .redirectErrorStream(true)
                .redirectOutput(ProcessBuilder.Redirect.appendTo(log.toFile()));
        try {
            process = pb.start();
        } catch (IOException e) {
            throw new UncheckedIOException("cannot start bin/kafka-broker", e);
        }
        awaitReady();
        return this;
    }

    private void awaitReady() {
        long deadline = System.nanoTime() + READY_TIMEOUT.toNanos();
        while (!Ports.accepting(port)) {
            if (!process.isAlive()) {
                throw new IllegalStateException("Kafka broker " + name + " exited with " + process.exitValue()
                        + "; last lines of " + log + ":\n" + Processes.tail(log, 40));
            }
            if (System.nanoTime() > deadline) {
                throw new IllegalStateException("Kafka broker " + name + " did not open port " + port + " within "
                        + READY_TIMEOUT + "; last lines of " + log + ":\n" + Processes.tail(log, 40));
            }
            Processes.sleep(100);
        }
        RuntimeException last = null;
        while (System.nanoTime() < deadline) {
            try (Admin admin = admin()) {
                int nodes = admin.describeCluster()
                        .nodes()
                        .get(10, TimeUnit.SECONDS)
                        .size();
                if (nodes > 0) {
                    return;
                }
            } catch (Exception e) {
                last = new IllegalStateException(e);
            }
            if (!process.isAlive()) {
                break;
            }
            Processes.sleep(200);
        }
        throw new IllegalStateException(
                "Kafka broker " + name + " is not answering metadata requests; last lines of " + log + ":\n"
                        + Processes.tail(log, 40),
                last);
    }

    /** An admin client for this broker (close it). */
    public Admin admin() {
        Properties p = new Properties();
        p.put(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrapServers());
        p.put(AdminClientConfig.REQUEST_TIMEOUT_MS_CONFIG, 10_000);
        p.put(AdminClientConfig.DEFAULT_API_TIMEOUT_MS_CONFIG, 15_000);
        return Admin.create(p);
    }

    /** Creates topics (1 partition unless given) if missing. */
    public void createTopics(Map<String, Integer> partitionsByTopic) {
        try (Admin admin = admin()) {
            List<NewTopic> topics = partitionsByTopic.entrySet().stream()
                    .map(e -> new NewTopic(e.getKey(), e.getValue(), (short) 1))
                    .toList();
            admin.createTopics(topics).values().forEach((t, f) -> {
                try {
                    f.get(30, TimeUnit.SECONDS);
                } catch (ExecutionException e) {
                    if (!(e.getCause() instanceof TopicExistsException)) {
                        throw new IllegalStateException("cannot create topic " + t, e.getCause());
                    }
                } catch (Exception e) {
                    throw new IllegalStateException("cannot create topic " + t, e);
                }
            });
        }
    }

    public String bootstrapServers() {
        return "127.0.0.1:" + port;
    }

    public int port() {
        return port;
    }

    public Path dataDir() {
        return dataDir;
    }

    public Path logFile() {
        return log;
    }

    public synchronized boolean isRunning() {
        return process != null && process.isAlive();
    }

    public synchronized long pid() {
        return process.pid();
    }

    /** Graceful stop (SIGTERM: controlled shutdown), SIGKILL after 30 s. */
    public synchronized void stop() {
        if (process != null) {
            Processes.terminate(process, Duration.ofSeconds(30));
            Processes.logMarker(log, "stopped (exit " + process.exitValue() + ")");
        }
    }

    /** SIGKILL (ProcessHandle.destroyForcibly), as in a crash; waits until it is gone. */
    public synchronized void kill() {
        if (process != null) {
            Processes.kill(process);
            Processes.logMarker(log, "killed (SIGKILL)");
        }
    }

    /** Stops (gracefully) if running, then starts on the same data dir and ports; waits until ready. */
    public synchronized KafkaBrokerProcess restart() {
        if (isRunning()) {
            stop();
        }
        return startProcess();
    }

    @Override
    public void close() {
        if (isRunning()) {
            // Graceful, but tests should not wait long for a broker they are done with.
            Processes.terminate(process, Duration.ofSeconds(10));
        }
    }

    @Override
    public String toString() {
        return "KafkaBrokerProcess[" + name + " " + bootstrapServers() + " " + dataDir + "]";
    }
}
