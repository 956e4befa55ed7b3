package org.meddiff.gateway.dicom.net;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.regex.Pattern;

import org.junit.jupiter.api.Test;
import org.meddiff.gateway.config.GatewayConfig;

/** Destinations as operators write them in gateway.dispatch.destinations. */
class DestinationTest {

    @Test
    void plainAndTlsDestinationsParseAndPrintBack() {
        StoreScu.Destination plain = StoreScu.Destination.parse("ORTHANC@pacs.example.org:4242");
        assertEquals(new StoreScu.Destination("ORTHANC", "pacs.example.org", 4242, false), plain);
        StoreScu.Destination tls = StoreScu.Destination.parse("PACS@10.0.0.7:2762/tls");
        assertEquals(new StoreScu.Destination("PACS", "10.0.0.7", 2762, true), tls);
        assertEquals(
                "PACS@10.0.0.7:2762/tls",
                tls.toString(),
                "the status API and events name the destination as configured");
    }

    @Test
    void theConfigurationPatternAcceptsWhatParsesAndRefusesTheRest() {
        Pattern p = Pattern.compile(GatewayConfig.DESTINATION);
        assertTrue(p.matcher("ORTHANC@localhost:4242").matches());
        assertTrue(p.matcher("ORTHANC@localhost:4242/tls").matches());
        for (String bad : new String[] {
            "ORTHANC@localhost",
            "ORTHANC@localhost:4242/ssl",
            "@localhost:4242",
            "A@b:c:4242/tls/tls",
            "SEVENTEEN_CHARS_AE@h:1"
        }) {
            assertFalse(p.matcher(bad).matches(), bad);
        }
        assertThrows(IllegalArgumentException.class, () -> StoreScu.Destination.parse("ORTHANC@localhost"));
    }
}
