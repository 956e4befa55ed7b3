package org.meddiff.gateway.dicom.net;

import java.io.Closeable;
import java.io.EOFException;
import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.SocketException;
import java.net.SocketTimeoutException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Semaphore;
import javax.net.ssl.SSLException;
import javax.net.ssl.SSLSocket;

import org.jboss.logging.Logger;

/**
 * The gateway's C-ECHO / C-STORE listener. One thread per association; every accepted socket
 * gets TCP_NODELAY (with Nagle on, each C-STORE stalls ~40 ms on delayed ACKs).
 *
 * <p>Why not PixelMed's StorageSOPClassSCP: it answers every C-STORE with Success whatever its
 * ReceivedObjectHandler does (a handler exception leaves the peer without any response), it offers no
 * hook to refuse a calling AE, and its association classes are package-private. The gateway must only
 * say Success once the instance is durable and recorded, and must refuse with the right status
 * otherwise, so the upper layer is implemented here; PixelMed still parses and writes data sets.
 */
public final class StoreScpServer implements Closeable {
    private static final Logger LOG = Logger.getLogger(StoreScpServer.class);

    /** {@code tls}: null for plain TCP, else the listener speaks DICOM over TLS. */
    public record Settings(
            String bindAddress,
            int port,
            int maxPduLength,
            int maxAssociations,
            int idleTimeoutMillis,
            Path incomingDir,
            TlsServerSettings tls) {
        public Settings(
                String bindAddress,
                int port,
                int maxPduLength,
                int maxAssociations,
                int idleTimeoutMillis,
                Path incomingDir) {
            this(bindAddress, port, maxPduLength, maxAssociations, idleTimeoutMillis, incomingDir, null);
        }
    }

    private final Settings settings;
    private final AssociationPolicy policy;
    private final StoreHandler handler;
    private final Semaphore associationSlots;
    private final Set<Socket> openSockets = ConcurrentHashMap.newKeySet();
    private final Map<Socket, ScpAssociation> associations = new ConcurrentHashMap<>();
    private volatile ServerSocket serverSocket;
    private volatile boolean running;

    /** TLS handshakes must finish within this (or the idle timeout, if shorter): a silent peer must not hold a slot. */
    static final int HANDSHAKE_TIMEOUT_MILLIS = 30_000;

    public StoreScpServer(Settings settings, AssociationPolicy policy, StoreHandler handler) {
        this(settings, policy, handler, new Semaphore(settings.maxAssociations()));
    }

    /** {@code associationSlots}: shared with the other listener of the gateway, so max-associations bounds both together. */
    public StoreScpServer(
            Settings settings, AssociationPolicy policy, StoreHandler handler, Semaphore associationSlots) {
        this.settings = settings;
        this.policy = policy;
        this.handler = handler;
        this.associationSlots = associationSlots;
    }

    public synchronized void start() throws IOException {
        Files.createDirectories(settings.incomingDir());
        ServerSocket socket =
                settings.tls() == null ? new ServerSocket() : settings.tls().newServerSocket();
        socket.setReuseAddress(true);
        socket.setReceiveBufferSize(4 * 1024 * 1024); // inherited by accepted sockets; lets the window open wide
        socket.bind(new InetSocketAddress(InetAddress.getByName(settings.bindAddress()), settings.port()), 128);
        serverSocket = socket;
        running = true;
        Thread.ofPlatform().name("dicom-accept-" + settings.port()).daemon(true).start(this::acceptLoop);
        Thread.ofPlatform()
                .name("dicom-write-watchdog-" + settings.port())
                .daemon(true)
                .start(this::watchBlockedWrites);
    }

    /**
     * Closes connections whose peer has read nothing for the idle timeout while the listener writes to it: socket
     * writes have no timeout, so such an association (and its slot) would otherwise last as long as the peer likes.
     */
    private void watchBlockedWrites() {
        long interval = Math.max(100, Math.min(1_000, settings.idleTimeoutMillis() / 2));
        while (running) {
            try {
                Thread.sleep(interval);
            } catch (InterruptedException e) {
                return;
            }
            associations.forEach((socket, association) -> {
                long blocked = association.writeBlockedMillis();
                if (blocked > settings.idleTimeoutMillis()) {
                    LOG.warnf(
                            "association %s: the peer has read nothing for %d ms while we write: closing",
                            association.describe(), blocked);
                    try {
                        socket.close(); // the blocked write fails, and the association ends as on any I/O error
                    } catch (IOException ignored) {
                        // closing anyway
                    }
                }
            });
        }
    }

    public int localPort() {
        return serverSocket.getLocalPort();
    }

    private void acceptLoop() {
        while (running) {
            try {
                Socket socket = serverSocket.accept();
                socket.setTcpNoDelay(true);
                socket.setSoTimeout(settings.idleTimeoutMillis());
                openSockets.add(socket);
                // Platform threads: associations are few and long, and a blocking read in the kernel
                // beats a virtual thread parking on the poller for every chunk of a 512 KB data set
                // (measured: 23 ms vs 2 ms per CT slice on 2 busy cores).
                Thread.ofPlatform()
                        .name("dicom-assoc-" + socket.getPort())
                        .daemon(true)
                        .start(() -> serve(socket));
            } catch (SocketException e) {
                if (running) {
                    LOG.errorf("DICOM listener socket failed: %s", e.getMessage());
                }
            } catch (IOException e) {
                LOG.errorf("DICOM accept failed: %s", e.getMessage());
            }
        }
    }

    private void serve(Socket socket) {
        boolean slot = associationSlots.tryAcquire();
        try (socket) {
            if (socket instanceof SSLSocket tls) {
                // handshake under its own deadline, before any DICOM is read: a silent or plain-TCP peer ends here
                tls.setSoTimeout(Math.min(HANDSHAKE_TIMEOUT_MILLIS, settings.idleTimeoutMillis()));
                tls.startHandshake();
                tls.setSoTimeout(settings.idleTimeoutMillis());
            }
            ScpAssociation association = new ScpAssociation(
                    socket,
                    settings,
                    policy,
                    handler,
                    slot ? null : AssociationRejection.tooManyAssociations(settings.maxAssociations()));
            associations.put(socket, association);
            association.run();
        } catch (SSLException e) {
            if (e.getCause() instanceof EOFException) {
                // connected and closed without a word: a TCP probe or port scan
                LOG.debugf("TLS connection from %s closed before its handshake", socket.getRemoteSocketAddress());
            } else {
                // a peer without TLS, an untrusted certificate, no common protocol: say so, it is a configuration
                // problem
                LOG.warnf("DICOM TLS connection from %s failed: %s", socket.getRemoteSocketAddress(), e.getMessage());
            }
        } catch (SocketTimeoutException e) {
            LOG.warnf(
                    "DICOM connection from %s: no TLS handshake within %d ms: closed",
                    socket.getRemoteSocketAddress(), Math.min(HANDSHAKE_TIMEOUT_MILLIS, settings.idleTimeoutMillis()));
        } catch (IOException e) {
            LOG.debugf("association from %s ended: %s", socket.getRemoteSocketAddress(), e.getMessage());
        } finally {
            associations.remove(socket);
            openSockets.remove(socket);
            if (slot) {
                associationSlots.release();
            }
        }
    }

    @Override
    public synchronized void close() {
        running = false;
        try {
            if (serverSocket != null) {
                serverSocket.close();
            }
        } catch (IOException ignored) {
            // closing anyway
        }
        for (Socket s : openSockets) {
            try {
                s.close();
            } catch (IOException ignored) {
                // closing anyway
            }
        }
    }
}
