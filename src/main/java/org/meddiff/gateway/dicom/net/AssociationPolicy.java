package org.meddiff.gateway.dicom.net;

import java.util.Optional;

/** What the listener accepts: which AEs may associate, which SOP classes and transfer syntaxes. */
public interface AssociationPolicy {
    /** A rejection if this association must be refused outright. */
    Optional<AssociationRejection> screen(AssociationRequest request);

    /** The answer to one proposed presentation context. */
    PresentationContextResult answer(PresentationContext proposed);
}
