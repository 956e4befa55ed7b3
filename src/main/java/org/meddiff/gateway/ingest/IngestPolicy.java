package org.meddiff.gateway.ingest;

import java.util.LinkedHashSet;
import java.util.List;
import java.util.Optional;
import java.util.Set;

import org.meddiff.gateway.dicom.net.AssociationPolicy;
import org.meddiff.gateway.dicom.net.AssociationRejection;
import org.meddiff.gateway.dicom.net.AssociationRequest;
import org.meddiff.gateway.dicom.net.PresentationContext;
import org.meddiff.gateway.dicom.net.PresentationContextResult;

/**
 * Negotiation rules of the listener: the called AE must be one of ours, the calling AE must be on the
 * allow-list when one is configured, and only the CT-study storage classes in uncompressed transfer
 * syntaxes are accepted (everything else is refused at negotiation, not after the data arrived).
 */
public final class IngestPolicy implements AssociationPolicy {
    private final Set<String> calledAes;
    private final Optional<Set<String>> allowedCallingAes;

    public IngestPolicy(Set<String> calledAes, Optional<List<String>> allowedCallingAes) {
        this.calledAes = Set.copyOf(calledAes);
        this.allowedCallingAes = allowedCallingAes.map(
                l -> Set.copyOf(l.stream().map(String::trim).toList()));
    }

    @Override
    public Optional<AssociationRejection> screen(AssociationRequest request) {
        if (!calledAes.contains(request.calledAe())) {
            return Optional.of(AssociationRejection.calledAeNotRecognized(request.calledAe()));
        }
        if (allowedCallingAes.isPresent() && !allowedCallingAes.get().contains(request.callingAe())) {
            return Optional.of(AssociationRejection.callingAeNotRecognized(request.callingAe()));
        }
        return Optional.empty();
    }

    @Override
    public PresentationContextResult answer(PresentationContext pc) {
        boolean verification = StorageClasses.VERIFICATION.equals(pc.abstractSyntax());
        if (!verification && !StorageClasses.ACCEPTED.containsKey(pc.abstractSyntax())) {
            return new PresentationContextResult(
                    pc.id(), pc.abstractSyntax(), PresentationContextResult.ABSTRACT_SYNTAX_NOT_SUPPORTED, first(pc));
        }
        for (String ts : StorageClasses.TRANSFER_SYNTAXES) {
            if (pc.transferSyntaxes().contains(ts)) {
                return new PresentationContextResult(
                        pc.id(), pc.abstractSyntax(), PresentationContextResult.ACCEPTANCE, ts);
            }
        }
        return new PresentationContextResult(
                pc.id(), pc.abstractSyntax(), PresentationContextResult.TRANSFER_SYNTAXES_NOT_SUPPORTED, first(pc));
    }

    private static String first(PresentationContext pc) {
        return pc.transferSyntaxes().isEmpty()
                ? "1.2.840.10008.1.2"
                : pc.transferSyntaxes().get(0);
    }

    public static Set<String> calledAes(String main, Optional<List<String>> additional) {
        Set<String> all = new LinkedHashSet<>();
        all.add(main);
        additional.ifPresent(all::addAll);
        return all;
    }
}
