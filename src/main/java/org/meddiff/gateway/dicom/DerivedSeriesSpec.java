package org.meddiff.gateway.dicom;

/**
 * What distinguishes a derived series: the UID seed (source series UID + task + model version, so
 * that a retried job writes the very same UIDs), the description suffix a PACS user sees, the
 * series number offset, and the DerivationDescription naming the method.
 */
public record DerivedSeriesSpec(
        String uidSeed,
        String descriptionSuffix,
        int seriesNumberOffset,
        String derivationDescription,
        double windowCenter,
        double windowWidth) {}
