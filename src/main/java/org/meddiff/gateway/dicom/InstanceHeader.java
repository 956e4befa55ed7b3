package org.meddiff.gateway.dicom;

import java.util.List;

/**
 * The attributes of one stored instance the gateway routes on. Deliberately free of patient
 * identifying text: only UIDs and acquisition/series descriptors travel in events.
 */
public record InstanceHeader(
        String sopClassUid,
        String sopInstanceUid,
        String studyInstanceUid,
        String seriesInstanceUid,
        String modality,
        Integer seriesNumber,
        Integer instanceNumber,
        Double sliceThicknessMm,
        String seriesDescription,
        String bodyPartExamined,
        List<String> imageType,
        /** DerivationDescription; the gateway marks its own output here (loop guard). */
        String derivationDescription) {}
