package org.meddiff.gateway.config;

import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Optional;

import jakarta.validation.Valid;
import jakarta.validation.constraints.Max;
import jakarta.validation.constraints.Min;
import jakarta.validation.constraints.NotEmpty;
import jakarta.validation.constraints.Pattern;

import io.smallrye.config.ConfigMapping;
import io.smallrye.config.WithDefault;

/**
 * Every gateway setting ({@code gateway.*}). Invalid values stop start-up with a message naming the key.
 *
 * <p>Each default is stated once, in application.properties, with the comment an operator reads; the mappings
 * (this one, {@code DiffusionConfig}, {@code ModelConfig}) only name and validate the keys. The one exception is a member
 * of a list element (a routing rule's {@code enabled}), which has no single key to write a default under.
 * ConfigDefaultsTest holds the rule.
 */
@ConfigMapping(prefix = "gateway")
public interface GatewayConfig {

    /** AE titles: 1-16 characters of the default repertoire, no backslash, not all spaces. */
    String AE_TITLE = "^(?=.*\\S)[\\x20-\\x5b\\x5d-\\x7e]{1,16}$";

    String DESTINATION = "^[\\x20-\\x5b\\x5d-\\x7e]{1,16}@[^@:\\s/*]+:\\d{1,5}(/tls)?(\\*[1-9]\\d?)?$";

    @Valid
    Stages stages();

    @Valid
    Dicom dicom();

    @Valid
    Spool spool();

    @Valid
    Assemble assemble();

    @Valid
    Route route();

    @Valid
    Infer infer();

    @Valid
    Dispatch dispatch();

    @Valid
    Kafka kafka();

    @Valid
    Retry retry();

    /**
     * How a stage retries a durable write it cannot skip (its result into the outbox, its state into the spool): for as
     * long as it takes, its Kafka record uncommitted meanwhile, waiting from initial-backoff doubling up to max-backoff.
     */
    interface Retry {
        Duration initialBackoff();

        Duration maxBackoff();
    }

    /**
     * Which stages run in this process. All of them in the all-in-one default; a cluster (deploy/) runs ingest,
     * assemble, route and dispatch on the gateway node and only infer on GPU nodes. track (status API, health,
     * metrics) and the outbox relay run in every process. Processes that share a spool need one outbox each
     * (gateway.spool.outbox), and only one process may run assemble: its series state lives in the spool.
     */
    interface Stages {
        /** The DICOM listener (C-ECHO, C-STORE SCP). */
        boolean ingest();

        /** Series readiness: consumes dicom.instance.received, recovers open series from the spool at start. */
        boolean assemble();

        boolean route();

        /** The inference workers (consumer group meddiff-infer). */
        boolean infer();

        boolean dispatch();
    }

    interface Kafka {
        /** Create the topics of kafka/topics.json that are missing, at start-up. */
        boolean createTopics();

        @Min(1)
        @Max(16)
        short replicationFactor();
    }

    interface Dicom {
        /** Called AE title of the listener (and calling AE title of dispatch). */
        @Pattern(regexp = AE_TITLE, message = "must be an AE title of 1-16 characters")
        String aeTitle();

        /** Further called AE titles served by the same listener (e.g. one per task). */
        Optional<List<@Pattern(regexp = AE_TITLE, message = "must be AE titles of 1-16 characters") String>>
                additionalAeTitles();

        @Min(1)
        @Max(65535)
        int port();

        String bindAddress();

        /** If set, only these calling AE titles may associate; others get A-ASSOCIATE-RJ (reason 3). */
        Optional<List<String>> allowedCallingAes();

        @Min(4096)
        @Max(16777216)
        int maxPduLength();

        @Min(1)
        @Max(1024)
        int maxAssociations();

        Duration idleTimeout();

        /**
         * The plain (non-TLS) listener on {@link #port()}. Switch it off for TLS only: while it runs, client-auth=need
         * on the TLS port protects nothing by itself (the calling-AE allow-list is all that guards the plain port).
         */
        boolean plainListener();

        @Valid
        Tls tls();
    }

    /**
     * A listener for DICOM over TLS (PS3.15 Annex B secure transport, BCP 195 protocols) beside the plain one (or
     * instead of it: {@code gateway.dicom.plain-listener=false}), with the same AE titles, policy, spool and
     * max-associations (one limit for both). The server certificate and key come from a PKCS #12 key store;
     * with a trust store, calling peers can be asked for (want) or required to present (need) a certificate it trusts.
     */
    interface Tls {
        boolean enabled();

        /** 2762 is the IANA port for DICOM over TLS. */
        @Min(1)
        @Max(65535)
        int port();

        /** PKCS #12 file with the gateway's private key and certificate chain (required when TLS is enabled). */
        Optional<Path> keyStore();

        Optional<String> keyStorePassword();

        /** PKCS #12 file with the certificates of trusted peers (their CA), for client authentication. */
        Optional<Path> trustStore();

        Optional<String> trustStorePassword();

        /** none, want or need: whether calling peers must authenticate with a certificate of the trust store. */
        @Pattern(regexp = "none|want|need", message = "must be none, want or need")
        String clientAuth();

        /** Protocol versions offered (BCP 195: TLS 1.2 and later). */
        List<@Pattern(regexp = "TLSv1\\.[23]", message = "must be TLSv1.2 or TLSv1.3") String> protocols();
    }

    interface Spool {
        Path dir();

        /** Below this much free space, C-STORE is refused with 0xA700 (out of resources). */
        @Min(0)
        long minFreeMegabytes();

        /**
         * This process's event outbox: a directory name under the spool root. Every process sharing one spool needs
         * its own (deploy/ uses outbox-POD_NAME with stable StatefulSet pod names, so a restarted pod finds its entries).
         */
        /**
         * Received and derived series whose newest file is older than this are removed (0 = never); 7 days = the
         * retention of the topics whose events point at them.
         */
        Duration retention();

        Duration retentionCheckInterval();

        @Pattern(
                regexp = "^(?!(incoming|instances|derived|dispatch|processed)$)[A-Za-z0-9][A-Za-z0-9._-]{0,63}$",
                message =
                        "must be a directory name under the spool root (letters, digits, . _ -; not incoming, instances, derived, dispatch or processed)")
        String outbox();
    }

    interface Assemble {
        /** A series is ready once no instance arrived for this long. */
        Duration seriesQuietPeriod();

        Duration checkInterval();
    }

    interface Route {
        /** Routing rules, evaluated in order; every matching rule requests one job. */
        List<@Valid Rule> rules();

        interface Rule {
            @NotEmpty
            String name();

            /** A rule can be switched off without deleting it (e.g. -Dgateway.route.rules[1].enabled=false). */
            @WithDefault("true")
            boolean enabled();

            /** Task name; must be one the infer stage knows (checked at start-up). */
            @NotEmpty
            String task();

            Optional<String> modality();

            Optional<Double> minSliceThicknessMm();

            Optional<Double> maxSliceThicknessMm();

            /** Java regular expression matched against the whole SeriesDescription (case-insensitive). */
            Optional<String> seriesDescriptionRegex();

            /** BodyPartExamined values, any of which matches (case-insensitive). */
            Optional<List<String>> bodyParts();

            /** A value ImageType must contain (e.g. AXIAL). */
            Optional<String> imageTypeContains();

            Optional<List<String>> callingAes();

            Optional<List<String>> calledAes();
        }
    }

    interface Infer {
        /** Target slice spacing of thick-to-thin tasks, in millimetres. */
        double thinSliceSpacingMm();

        /** Version string recorded in derived series and used in their UID seed. */
        String baselineVersion();

        /**
         * Attempts of a job that fails for a reason of the machine (ONNX Runtime error, out of memory, I/O error, over
         * its time limit), on this or another worker; failures of the input (not CT, missing slices) fail at once.
         */
        @Min(1)
        @Max(20)
        int maxAttempts();

        /** Wait before a failed attempt is requested again; doubles with each attempt. */
        Duration retryBackoff();

        /** A job running longer than this is stopped and counts as a failed attempt: a worker never hangs on one job. */
        Duration jobTimeout();
    }

    interface Dispatch {
        /**
         * Destinations as AET@host:port (AET@host:port/tls: DICOM over TLS); derived series go to each of them. A
         * suffix *N allows N concurrent associations to that destination (default 1: many PACS serve one at a time).
         */
        Optional<
                        List<
                                @Pattern(
                                        regexp = DESTINATION,
                                        message =
                                                "must be AET@host:port or AET@host:port/tls, optionally followed by *N (associations)")
                                String>>
                destinations();

        /**
         * Attempts of a delivery that the destination answered and did not store (failure statuses, a rejected
         * association, a failed TLS handshake); a destination that is down or busy is waited for instead (give-up-after).
         */
        @Min(1)
        @Max(100)
        int maxAttempts();

        /**
         * A delivery whose destination stays down (connection refused) or busy (no answer) this long is dead-lettered:
         * long enough for an overnight PACS maintenance window to pass without anybody redelivering by hand.
         */
        Duration giveUpAfter();

        /** How long to wait for the answer to an association request: a single-association PACS busy with another sender stays silent. */
        Duration associationTimeout();

        Duration initialBackoff();

        Duration maxBackoff();

        Duration connectTimeout();

        Duration responseTimeout();

        @Valid
        DispatchTls tls();
    }

    /** DICOM over TLS to destinations marked /tls. */
    interface DispatchTls {
        /** PKCS #12 file with the gateway's key and certificate, for a PACS that requires client certificates. */
        Optional<Path> keyStore();

        Optional<String> keyStorePassword();

        /** PKCS #12 file with the PACS certificates (or their CA) to trust; absent = the JVM's default trust store. */
        Optional<Path> trustStore();

        Optional<String> trustStorePassword();

        List<@Pattern(regexp = "TLSv1\\.[23]", message = "must be TLSv1.2 or TLSv1.3") String> protocols();

        /** The PACS certificate must name the host dialled (subject alternative name). */
        boolean verifyHostname();
    }
}
