package org.meddiff.gateway.events;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Predicate;
import java.util.stream.Stream;

import com.fasterxml.jackson.databind.JsonNode;
import org.meddiff.gateway.track.StageProgress;

/** Test helpers around the outbox: what is in it, and one that fails on purpose. */
public final class OutboxFiles {
    private OutboxFiles() {}

    /** The events waiting in an outbox directory, in append order, as JSON. */
    public static List<JsonNode> events(Path dir) {
        try (Stream<Path> files = Files.list(dir)) {
            return files.filter(p -> p.getFileName().toString().endsWith(".evt"))
                    .sorted()
                    .map(p -> {
                        try {
                            String text = Files.readString(p);
                            return Events.JSON.readTree(text.substring(text.indexOf('\n', text.indexOf('\n') + 1) + 1));
                        } catch (IOException e) {
                            throw new UncheckedIOException(e);
                        }
                    })
                    .toList();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** The events of one topic. */
    public static List<JsonNode> events(Path dir, String topic) {
        return events(dir).stream()
                .filter(e -> topic.equals(e.path("type").asText()))
                .toList();
    }

    /** A retry with short waits, for tests. */
    public static DurableRetry quickRetry(StageProgress progress) {
        return new DurableRetry(progress, Duration.ofMillis(5), Duration.ofMillis(40));
    }

    /**
     * A real outbox whose next {@code failures} appends of the topics {@code failing} accepts fail as a full disk does
     * (the file system is not touched for them).
     */
    public static final class Failing extends Outbox {
        private final AtomicInteger failuresLeft;
        private final Predicate<String> failing;
        private final AtomicInteger refused = new AtomicInteger();

        public Failing(Path dir, int failures, Predicate<String> failing) {
            super(dir);
            this.failuresLeft = new AtomicInteger(failures);
            this.failing = failing;
        }

        @Override
        public void append(String topic, String key, String value) throws IOException {
            if (failing.test(topic) && failuresLeft.getAndDecrement() > 0) {
                refused.incrementAndGet();
                throw new IOException("No space left on device");
            }
            super.append(topic, key, value);
        }

        /** Appends refused so far. */
        public int refused() {
            return refused.get();
        }

        /** Waits (bounded) until {@code n} appends were refused. */
        public void awaitRefused(int n, Duration timeout) throws InterruptedException {
            long deadline = System.nanoTime() + timeout.toNanos();
            while (refused.get() < n && System.nanoTime() < deadline) {
                Thread.sleep(5);
            }
        }
    }
}
