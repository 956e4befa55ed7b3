package org.meddiff.gateway.events;

import java.util.List;

/** Series-level descriptors routing decides on; no patient-identifying text. */
public record SeriesAttributes(
        String modality,
        Integer seriesNumber,
        Double sliceThicknessMm,
        String seriesDescription,
        String bodyPartExamined,
        List<String> imageType,
        String sopClassUid,
        String callingAe,
        String calledAe,
        boolean derivedByGateway) {}
