package org.meddiff.gateway.campaign;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

import org.meddiff.gateway.it.support.Ports;
import org.meddiff.gateway.it.support.Processes;

/**
 * DCMTK storescp as a destination PACS: one association at a time (no --fork, as many small PACS), receiving into a
 * folder, with unique file names (+uf) so that a second reception of the same SOP instance is a second file and
 * "nothing twice" can be counted. Port, AE title and folder are kept across {@link #stop()} / {@link #start()}.
 */
final class StorescpProcess implements AutoCloseable {
    private final String aeTitle;
    private final Path receiveDir;
    private final int port;
    private final Path log;
    private Process process;

    StorescpProcess(String name, String aeTitle, Path receiveDir) {
        this.aeTitle = aeTitle;
        this.receiveDir = Processes.mkdirs(receiveDir);
        this.port = Ports.free();
        this.log = Processes.logDir().resolve("storescp-" + name + ".log");
    }

    /** Starts storescp and waits (10 s at most) until it accepts connections. */
    synchronized StorescpProcess start() {
        if (isRunning()) {
            throw new IllegalStateException("storescp " + aeTitle + " is already running");
        }
        List<String> cmd = new ArrayList<>(
                List.of("storescp", "-v", "-aet", aeTitle, "+uf", "-od", receiveDir.toString(), String.valueOf(port)));
        Processes.logMarker(log, "start " + String.join(" ", cmd));
        try {
            process = new ProcessBuilder(cmd)
                    .redirectErrorStream(true)
                    .redirectOutput(ProcessBuilder.Redirect.appendTo(log.toFile()))
                    .start();
        } catch (IOException e) {
            throw new UncheckedIOException("cannot start storescp (apt-get install dcmtk; bin/setup does)", e);
        }
        // One probe connection when it is up: storescp serves one association at a time, so don't poll it later.
        if (!Ports.awaitAccepting(port, Duration.ofSeconds(10))) {
            Processes.kill(process);
            throw new IllegalStateException(
                    "storescp did not listen on " + port + " within 10 s:\n" + Processes.tail(log, 20));
        }
        return this;
    }

    /** SIGTERM (SIGKILL after 10 s): the PACS goes down; what it received stays in the folder. */
    synchronized void stop() {
        if (process != null && process.isAlive()) {
            Processes.terminate(process, Duration.ofSeconds(10));
            Processes.logMarker(log, "stopped");
        }
    }

    synchronized boolean isRunning() {
        return process != null && process.isAlive();
    }

    String destination() {
        return aeTitle + "@127.0.0.1:" + port;
    }

    Path receiveDir() {
        return receiveDir;
    }

    Path logFile() {
        return log;
    }

    @Override
    public void close() {
        stop();
    }
}
