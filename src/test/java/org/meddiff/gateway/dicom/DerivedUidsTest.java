package org.meddiff.gateway.dicom;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.math.BigInteger;
import java.util.HashSet;
import java.util.Set;

import org.junit.jupiter.api.Test;

class DerivedUidsTest {

    @Test
    void sameSeedSameUids() {
        String seed = "1.2.3.4.5/sr/medDiff-fm-1.0";
        assertEquals(DerivedUids.seriesInstanceUid(seed), DerivedUids.seriesInstanceUid(seed));
        assertEquals(DerivedUids.sopInstanceUid(seed, 7), DerivedUids.sopInstanceUid(seed, 7));
    }

    @Test
    void differentSeedsAndIndicesDiffer() {
        Set<String> seen = new HashSet<>();
        for (String seed : new String[] {"a", "b", "1.2.3/denoise/v1", "1.2.3/denoise/v2"}) {
            assertTrue(seen.add(DerivedUids.seriesInstanceUid(seed)));
            for (int i = 1; i <= 500; i++) {
                assertTrue(seen.add(DerivedUids.sopInstanceUid(seed, i)), "collision at " + seed + "/" + i);
            }
        }
    }

    @Test
    void uidsHaveValidSyntaxUnderTheUuidRoot() {
        for (int i = 0; i < 2000; i++) {
            String uid = DerivedUids.sopInstanceUid("seed-" + i, i);
            assertTrue(DerivedUids.isValid(uid), uid);
            assertTrue(uid.startsWith("2.25."), uid);
            assertTrue(uid.length() <= 64, uid);
            String number = uid.substring(5);
            assertFalse(number.length() > 1 && number.startsWith("0"), uid);
            assertTrue(new BigInteger(number).bitLength() <= 128, uid);
        }
    }

    @Test
    void uuidVersionAndVariantBitsAreSet() {
        BigInteger v = new BigInteger(DerivedUids.fromName("x").substring(5));
        // version nibble (bits 76..79 of the 128-bit value) = 8, variant bits (62..63) = 10
        assertEquals(8, v.shiftRight(76).intValue() & 0xf);
        assertEquals(2, v.shiftRight(62).intValue() & 0x3);
    }

    @Test
    void validatorRejectsBadUids() {
        assertTrue(DerivedUids.isValid("1.2.840.10008.5.1.4.1.1.2"));
        assertTrue(DerivedUids.isValid("2.25.0"));
        assertFalse(DerivedUids.isValid("1.02.3"));
        assertFalse(DerivedUids.isValid("1..2"));
        assertFalse(DerivedUids.isValid("1.2."));
        assertFalse(DerivedUids.isValid("1.2.a"));
        assertFalse(DerivedUids.isValid("1." + "1".repeat(63)));
        assertFalse(DerivedUids.isValid(""));
        assertFalse(DerivedUids.isValid(null));
        assertNotEquals(DerivedUids.fromName("a/1"), DerivedUids.sopInstanceUid("a", 2));
        assertThrows(IllegalArgumentException.class, () -> DerivedUids.fromName(""));
    }
}
