package org.meddiff.gateway.dicom.net;

/** A-ASSOCIATE-RJ parameters (PS3.8 table 9-21) with the reason in words for logs. */
public record AssociationRejection(int result, int source, int reason, String why) {
    public static AssociationRejection callingAeNotRecognized(String ae) {
        return new AssociationRejection(1, 1, 3, "calling AE title '" + ae + "' is not on the allow-list");
    }

    public static AssociationRejection calledAeNotRecognized(String ae) {
        return new AssociationRejection(1, 1, 7, "called AE title '" + ae + "' is not served here");
    }

    public static AssociationRejection applicationContextNotSupported(String uid) {
        return new AssociationRejection(1, 1, 2, "application context '" + uid + "' is not supported");
    }

    public static AssociationRejection tooManyAssociations(int limit) {
        return new AssociationRejection(2, 3, 2, "association limit " + limit + " reached");
    }

    public static AssociationRejection temporarilyUnavailable(String why) {
        return new AssociationRejection(2, 1, 1, why);
    }
}
