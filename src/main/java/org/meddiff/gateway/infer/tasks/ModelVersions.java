package org.meddiff.gateway.infer.tasks;

import org.meddiff.gateway.infer.model.ModelCard;
import org.meddiff.gateway.infer.model.ModelRegistry;

/** A model's version as recorded in derived series and their UID seeds: name@first 12 hex of its sha256. */
final class ModelVersions {
    private ModelVersions() {}

    static String of(ModelRegistry registry, String name) {
        if (!registry.available(name)) {
            return name + "@missing";
        }
        ModelCard card = registry.card(name);
        String sha = card.sha256() == null
                ? "unknown"
                : card.sha256().substring(0, Math.min(12, card.sha256().length()));
        return name + "@" + sha;
    }
}
