package org.meddiff.gateway.ingest;

import java.util.List;
import java.util.Map;

/** The storage SOP classes a CT study carries, and the transfer syntaxes the gateway can decode. */
public final class StorageClasses {
    public static final String VERIFICATION = "1.2.840.10008.1.1";
    public static final String CT_IMAGE = "1.2.840.10008.5.1.4.1.1.2";

    /** SOP class UID -> name, for logs and the conformance statement (README). */
    public static final Map<String, String> ACCEPTED = Map.ofEntries(
            Map.entry(CT_IMAGE, "CT Image Storage"),
            Map.entry("1.2.840.10008.5.1.4.1.1.2.1", "Enhanced CT Image Storage"),
            Map.entry("1.2.840.10008.5.1.4.1.1.2.2", "Legacy Converted Enhanced CT Image Storage"),
            Map.entry("1.2.840.10008.5.1.4.1.1.7", "Secondary Capture Image Storage"),
            Map.entry("1.2.840.10008.5.1.4.1.1.7.2", "Multi-frame Grayscale Byte Secondary Capture Image Storage"),
            Map.entry("1.2.840.10008.5.1.4.1.1.7.3", "Multi-frame Grayscale Word Secondary Capture Image Storage"),
            Map.entry("1.2.840.10008.5.1.4.1.1.7.4", "Multi-frame True Color Secondary Capture Image Storage"),
            Map.entry("1.2.840.10008.5.1.4.1.1.11.1", "Grayscale Softcopy Presentation State Storage"),
            Map.entry("1.2.840.10008.5.1.4.1.1.66", "Raw Data Storage"),
            Map.entry("1.2.840.10008.5.1.4.1.1.66.1", "Spatial Registration Storage"),
            Map.entry("1.2.840.10008.5.1.4.1.1.66.4", "Segmentation Storage"),
            Map.entry("1.2.840.10008.5.1.4.1.1.88.22", "Enhanced SR Storage"),
            Map.entry("1.2.840.10008.5.1.4.1.1.88.33", "Comprehensive SR Storage"),
            Map.entry("1.2.840.10008.5.1.4.1.1.88.59", "Key Object Selection Document Storage"),
            Map.entry("1.2.840.10008.5.1.4.1.1.88.67", "X-Ray Radiation Dose SR Storage"),
            Map.entry("1.2.840.10008.5.1.4.1.1.104.1", "Encapsulated PDF Storage"));

    /** In order of preference when a peer proposes several. */
    public static final List<String> TRANSFER_SYNTAXES = List.of(
            "1.2.840.10008.1.2.1", // Explicit VR Little Endian
            "1.2.840.10008.1.2", // Implicit VR Little Endian
            "1.2.840.10008.1.2.2"); // Explicit VR Big Endian (retired, still sent by old modalities)

    private StorageClasses() {}
}
