package org.meddiff.gateway.dicom;

/**
 * How the gateway recognises its own output when a PACS sends it back: every derived series carries
 * this marker at the start of DerivationDescription, and route never processes such a series again.
 */
public final class DerivedMarker {
    public static final String PREFIX = "[meddiff-gateway]";

    private DerivedMarker() {}

    public static boolean isOurs(String derivationDescription) {
        return derivationDescription != null && derivationDescription.contains(PREFIX);
    }
}
