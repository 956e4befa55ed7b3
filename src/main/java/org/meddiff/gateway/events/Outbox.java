package org.meddiff.gateway.events;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.channels.OverlappingFileLockException;
import java.nio.charset.StandardCharsets;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

import jakarta.enterprise.context.ApplicationScoped;
import jakarta.inject.Inject;

import org.jboss.logging.Logger;
import org.meddiff.gateway.Failures;
import org.meddiff.gateway.spool.AtomicFiles;
import org.meddiff.gateway.spool.Spool;

/**
 * Transactional outbox on the spool's file system: an event is durable (written, fsync-ed, renamed)
 * before {@link #append} returns, and stays until the {@link OutboxRelay} has it acknowledged by Kafka.
 * This is what lets ingest answer Success while the broker is down, and what survives a SIGKILL.
 */
@ApplicationScoped
public class Outbox {
    private static final Logger LOG = Logger.getLogger(Outbox.class);
    /** One pending record. {@code file} is its outbox entry. */
    public record Entry(Path file, String topic, String key, String value) {}

    private final Path dir;
    private final BlockingQueue<Entry> pending = new LinkedBlockingQueue<>();
    /**
     * Names sort in append order across restarts: wall-clock micros, then a counter, but never below a
     * name still pending from the previous run (the clock may have stepped back).
     */
    private final AtomicLong sequence = new AtomicLong(System.currentTimeMillis() * 1000);
    /** Guards the queue's order between appends and a requeue of failed entries. */
    private final Object queueLock = new Object();

    private static final List<FileChannel> HELD = Collections.synchronizedList(new ArrayList<>());

    @Inject
    public Outbox(Spool spool) {
        this(spool.outbox());
    }

    public Outbox(Path dir) {
        this.dir = dir;
        try {
            Files.createDirectories(dir);
            claim(dir);
            for (Path p : existingEntries()) {
                long seq = Long.parseLong(p.getFileName().toString().replace(".evt", ""));
                sequence.accumulateAndGet(seq, Math::max);
                try {
                    pending.add(read(p));
                } catch (IOException e) {
                    quarantine(p, e);
                }
            }
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read the outbox " + dir, e);
        }
    }

    public void append(GatewayEvent event) throws IOException {
        append(event.type(), event.key(), Events.toJson(event));
    }

    public void append(String topic, String key, String value) throws IOException {
        String name = String.format("%020d", sequence.incrementAndGet());
        Path file = dir.resolve(name + ".evt");
        byte[] bytes = (topic + "\n" + (key == null ? "" : key) + "\n" + value).getBytes(StandardCharsets.UTF_8);
        AtomicFiles.write(file, bytes);
        synchronized (queueLock) {
            pending.add(new Entry(file, topic, key, value));
        }
    }

    /** Blocks up to {@code millis} for the first pending entry, then takes up to {@code max}. */
    List<Entry> take(int max, long millis) throws InterruptedException {
        List<Entry> batch = new ArrayList<>();
        Entry first = pending.poll(millis, TimeUnit.MILLISECONDS);
        if (first != null) {
            batch.add(first);
            pending.drainTo(batch, max - 1);
        }
        return batch;
    }

    /** Puts entries back (a failed send) ahead of everything appended since, in their order. */
    void requeue(List<Entry> entries) {
        synchronized (queueLock) {
            List<Entry> rest = new ArrayList<>();
            pending.drainTo(rest);
            pending.addAll(entries);
            pending.addAll(rest);
        }
    }

    void acknowledge(Entry entry) throws IOException {
        Files.deleteIfExists(entry.file());
    }

    public int size() {
        return pending.size();
    }

    /**
     * Holds a lock on {@code .lock} in the outbox for the life of the process: a second process started on the same
     * outbox (two processes sharing a spool, both on the default name) would replay and delete the other's entries,
     * so it stops at start-up instead. The lock goes with the process, however it ends.
     */
    private static void claim(Path dir) throws IOException {
        FileChannel channel =
                FileChannel.open(dir.resolve(".lock"), StandardOpenOption.CREATE, StandardOpenOption.WRITE);
        FileLock lock;
        try {
            lock = channel.tryLock();
        } catch (OverlappingFileLockException e) {
            channel.close();
            return; // this process holds it already (an Outbox re-opened on the same directory)
        }
        if (lock == null) {
            channel.close();
            throw new IllegalStateException(
                    "the outbox " + dir + " is in use by another process: every process sharing a "
                            + "spool needs its own outbox (gateway.spool.outbox)");
        }
        HELD.add(channel); // released when the process ends
    }

    private List<Path> existingEntries() throws IOException {
        List<Path> files = new ArrayList<>();
        try (DirectoryStream<Path> stream = Files.newDirectoryStream(dir)) {
            for (Path p : stream) {
                String name = p.getFileName().toString();
                if (name.endsWith(".evt")) {
                    files.add(p);
                } else if (name.endsWith(".tmp")) {
                    Files.deleteIfExists(p); // never renamed: its append did not return
                }
            }
        }
        files.sort(null);
        return files;
    }

    /**
     * An entry that cannot be parsed (appends are atomic, so only a damaged disk makes one) must neither stop start-up
     * nor be deleted unseen: it moves to {@code corrupt/} in the outbox for an operator, and the log names it.
     */
    private void quarantine(Path entry, IOException why) throws IOException {
        Path corrupt = Files.createDirectories(dir.resolve("corrupt"));
        Path target = corrupt.resolve(entry.getFileName());
        Files.move(entry, target, StandardCopyOption.REPLACE_EXISTING);
        Spool.fsyncDirectory(dir);
        LOG.errorf(
                "outbox entry %s is unreadable (%s): moved to %s, not published", entry, Failures.reason(why), target);
    }

    private static Entry read(Path file) throws IOException {
        String text = Files.readString(file, StandardCharsets.UTF_8);
        int a = text.indexOf('\n');
        int b = text.indexOf('\n', a + 1);
        if (a < 0 || b < 0) {
            throw new IOException("corrupt outbox entry " + file);
        }
        String key = text.substring(a + 1, b);
        return new Entry(file, text.substring(0, a), key.isEmpty() ? null : key, text.substring(b + 1));
    }
}
