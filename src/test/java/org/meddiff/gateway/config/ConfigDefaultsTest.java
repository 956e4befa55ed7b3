package org.meddiff.gateway.config;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.io.InputStream;
import java.lang.reflect.Method;
import java.lang.reflect.Modifier;
import java.lang.reflect.ParameterizedType;
import java.lang.reflect.Type;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.Properties;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.stream.Stream;

import io.smallrye.config.ConfigMapping;
import io.smallrye.config.WithDefault;
import io.smallrye.config.WithName;
import org.junit.jupiter.api.Test;
import org.meddiff.gateway.infer.model.ModelConfig;
import org.meddiff.gateway.infer.tasks.DiffusionConfig;

/**
 * Each setting's default is stated in one place: application.properties, beside the comment an operator reads. The
 * config mappings name and validate keys and state no default, except a member of a list element (a routing rule's
 * {@code enabled}: there is no single key to write it under). Before this rule the mappings and the file disagreed on
 * nine diffusion settings (denoise lambda 10 vs 3, steps 10 vs 20, anomaly t 950 vs 400, ...), and which one a process
 * got depended on whether it read the file.
 */
class ConfigDefaultsTest {
    static final List<Class<?>> MAPPINGS =
            List.of(GatewayConfig.class, DiffusionConfig.class, ModelConfig.class, KafkaClientConfig.class);

    /** A key of a mapping: its name (list elements as [*]), whether it must have a value, and where it stated one. */
    record Key(String name, boolean required, String inlineDefault) {
        boolean inList() {
            return name.contains("[*]");
        }
    }

    @Test
    void theMappingsStateNoDefaultOfTheirOwn() {
        List<String> twice = keys().stream()
                .filter(k -> k.inlineDefault() != null && !k.inList())
                .map(k -> k.name() + " = " + k.inlineDefault())
                .toList();
        assertEquals(List.of(), twice, "defaults belong in application.properties, not in @WithDefault");
    }

    @Test
    void everyRequiredKeyHasItsValueInApplicationProperties() throws IOException {
        Properties shipped = shipped();
        List<String> missing = keys().stream()
                .filter(k -> k.required() && !k.inList() && k.inlineDefault() == null)
                .map(Key::name)
                .filter(name -> !shipped.containsKey(name))
                .toList();
        assertEquals(List.of(), missing, "keys without a value: start-up would stop on them");
    }

    @Test
    void everyGatewayKeyInApplicationPropertiesNamesASetting() throws IOException {
        Set<String> known = new TreeSet<>();
        keys().forEach(k -> known.add(k.name()));
        List<String> unknown = new ArrayList<>();
        for (String name : shipped().stringPropertyNames()) {
            String generic = name.replaceAll("\\[\\d+]", "[*]");
            if ((name.startsWith("gateway.") || name.startsWith("kafka.")) && !known.contains(generic)) {
                unknown.add(name);
            }
        }
        assertEquals(List.of(), unknown, "a misspelt key would be ignored silently");
    }

    /** Config read beside the mappings (a @ConfigProperty with its own default, a ConfigProvider lookup) is a second source. */
    @Test
    void theServiceReadsSettingsOnlyThroughTheMappings() throws IOException {
        Path main = Path.of("src/main/java");
        Map<String, String> found = new TreeMap<>();
        Set<String> declared = new TreeSet<>();
        try (Stream<Path> files = Files.walk(main)) {
            for (Path p : files.filter(f -> f.toString().endsWith(".java")).toList()) {
                String text = Files.readString(p);
                for (String forbidden : List.of("@ConfigProperty", "ConfigProvider.getConfig", "@WithDefault")) {
                    if (text.contains(forbidden)
                            && !(forbidden.equals("@WithDefault") && p.endsWith("GatewayConfig.java"))) {
                        found.put(main.relativize(p).toString(), forbidden);
                    }
                }
                if (text.contains("@ConfigMapping(")) {
                    declared.add(p.getFileName().toString().replace(".java", ""));
                }
            }
        }
        assertEquals(Map.of(), found);
        Set<String> tested = new TreeSet<>();
        MAPPINGS.forEach(m -> tested.add(m.getSimpleName()));
        assertEquals(declared, tested, "every @ConfigMapping is checked here");
    }

    /** The walk itself must find what it is meant to, or the checks above prove nothing. */
    @Test
    void theWalkFindsNestedListAndRenamedKeys() {
        Map<String, Key> byName = new TreeMap<>();
        keys().forEach(k -> byName.put(k.name(), k));
        assertTrue(
                byName.containsKey("gateway.diffusion.denoise.sigma-n-scale"),
                byName.keySet().toString());
        assertTrue(byName.containsKey("gateway.dicom.tls.client-auth"));
        assertTrue(byName.containsKey("kafka.bootstrap.servers"));
        assertEquals("true", byName.get("gateway.route.rules[*].enabled").inlineDefault());
        assertTrue(!byName.get("gateway.dispatch.destinations").required(), "Optional is not required");
        assertTrue(byName.get("gateway.route.rules[*].task").required());
    }

    static List<Key> keys() {
        List<Key> keys = new ArrayList<>();
        for (Class<?> mapping : MAPPINGS) {
            walk(mapping, mapping.getAnnotation(ConfigMapping.class).prefix(), keys);
        }
        return keys;
    }

    private static void walk(Class<?> group, String prefix, List<Key> into) {
        for (Method m : group.getMethods()) {
            if (m.getParameterCount() > 0 || m.isDefault() || Modifier.isStatic(m.getModifiers())) {
                continue;
            }
            WithName renamed = m.getAnnotation(WithName.class);
            String name = prefix + "." + (renamed != null ? renamed.value() : kebab(m.getName()));
            Type type = m.getGenericReturnType();
            Class<?> raw = m.getReturnType();
            if (isGroup(raw)) {
                walk(raw, name, into);
            } else if (raw == List.class
                    && type instanceof ParameterizedType pt
                    && pt.getActualTypeArguments()[0] instanceof Class<?> element
                    && isGroup(element)) {
                walk(element, name + "[*]", into);
            } else {
                WithDefault inline = m.getAnnotation(WithDefault.class);
                into.add(new Key(name, raw != Optional.class, inline == null ? null : inline.value()));
            }
        }
    }

    private static boolean isGroup(Class<?> type) {
        return type.isInterface() && type.getName().startsWith("org.meddiff.");
    }

    /** SmallRye's naming: sigmaNScale -> sigma-n-scale. */
    static String kebab(String method) {
        return method.replaceAll("([A-Z])", "-$1").toLowerCase(Locale.ROOT);
    }

    static Properties shipped() throws IOException {
        Properties p = new Properties();
        try (InputStream in = ConfigDefaultsTest.class.getResourceAsStream("/application.properties")) {
            p.load(in);
        }
        return p;
    }
}
