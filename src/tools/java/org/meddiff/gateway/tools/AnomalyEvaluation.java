package org.meddiff.gateway.tools;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.stream.IntStream;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import org.meddiff.gateway.infer.diffusion.AnomalyMap;
import org.meddiff.gateway.infer.diffusion.FloatVolume;
import org.meddiff.gateway.infer.diffusion.SeededGaussianNoise;
import org.meddiff.gateway.infer.model.ModelCard;
import org.meddiff.gateway.infer.pipeline.CtPreprocessing;
import org.meddiff.gateway.infer.pipeline.DiffusionPipeline;
import org.meddiff.gateway.infer.pipeline.Region;
import org.meddiff.gateway.volume.Volume;

/**
 * Anomaly part of {@link Evaluation}: the map settings (diffusion step t, smoothing of the signed difference)
 * are chosen ONCE by pooled pixel AUROC on volumes of the TRAINING case with inserted lesions, then the held-out
 * volumes are scored with the paper's setting (t = 950, raw map) and with the chosen one; the real tumours
 * (IBSI sarcoma, training volumes) are scored with both.
 */
final class AnomalyEvaluation {

    static final int[] T_GRID = {950, 800, 700, 600, 500, 400, 300};
    static final double[] SIGMA_GRID_MM = {0, 1, 2, 3};
    /** Numbers of averaged reconstructions tried at the chosen t and smoothing (1 is the grid itself). */
    static final int[] DRAWS_GRID = {4, 16};
    /** Pooled AUROC a larger number of draws must add on the training case to be worth its cost. */
    static final double DRAWS_MIN_GAIN = 0.005;

    /** A map setting. */
    record Setting(int t, double sigmaMm, int draws) {
        String label() {
            return String.format(
                    Locale.ROOT, "t = %d, smoothing %.0f mm, %d draw%s", t, sigmaMm, draws, draws == 1 ? "" : "s");
        }
    }

    /** One volume with its ROI and lesion mask, prepared once for every setting. */
    private record Case(
            Volume volume,
            CtPreprocessing.Prepared prepared,
            FloatVolume roiPadded,
            FloatVolume roi,
            FloatVolume lesions,
            boolean hasLesion) {}

    /** Pooled pixel AUROC and the series AUROC of one setting on a set of cases. */
    record Score(double pixelAuroc, double seriesAuroc, double[] seriesScores) {}

    private final DiffusionPipeline pipeline;
    private final CtPreprocessing preprocessing;
    /** The run's figures (--json): "anomaly" and "real_lesions" are this part's sections. */
    private final ObjectNode results;

    /**
     * A lesion counts as anomalous when its voxels outrank the rest of the ROI as well as the inserted lesions must
     * (pixel AUROC of the lesion against the other ROI voxels >= {@link #INSERTED_BAR}).
     */
    static final double INSERTED_BAR = 0.90;

    AnomalyEvaluation(DiffusionPipeline pipeline, ModelCard card, ObjectNode results) {
        this.pipeline = pipeline;
        this.results = results;
        this.preprocessing = new CtPreprocessing(card.recommendedPatch(), card.spatialMultiple());
    }

    /**
     * Tunes on the training set when the evaluation set has one, then scores the held-out set with the paper's
     * setting, the shipped one and the chosen one (and the chosen one with a single draw); returns the chosen setting.
     */
    Setting run(Path data, JsonNode index, ShippedSettings settings) throws IOException {
        ObjectNode out = results.withObjectProperty("anomaly");
        Setting shipped = new Setting(
                settings.anomaly().t(),
                settings.anomaly().smoothingSigmaMm(),
                settings.anomaly().draws());
        Setting paper = new Setting(AnomalyMap.T_PAPER, 0, 1);
        Setting chosen = paper;
        if (index.has("anomaly_train_cases")) {
            List<Case> train = cases(data, index, "anomaly_train_cases", "anomaly_train_roi");
            chosen = tune(train, index, out);
            triage(
                    "training case " + index.path("training_case").asText() + ", the shipped setting",
                    train,
                    shipped,
                    settings,
                    150,
                    null);
        } else {
            System.out.println(
                    "\nNo anomaly training set in the evaluation set (re-export it): only the paper's setting is scored.");
        }
        List<Case> heldOut = cases(data, index, "anomaly_cases", "anomaly_roi");
        System.out.printf(
                Locale.ROOT,
                "%n### Anomaly maps, inserted hypodense lesions (-80..-40 HU, r 4-7 mm): %s block %s, %d volumes "
                        + "(never trained on)%n%n",
                index.path("validation_case").asText(),
                heldOut.get(0).roi().shapeString(),
                heldOut.size());
        System.out.println(
                "ROI: soft tissue eroded 3 voxels (pixel AUROC pooled over the ROI voxels of all volumes; the series score "
                        + "is the q99 of the map in the ROI).");
        System.out.println();
        System.out.println(
                "| setting | pixel AUROC | series AUROC (too few volumes to be meaningful) | series scores |");
        System.out.println("| --- | --- | --- | --- |");
        List<Setting> rows = new ArrayList<>(List.of(paper));
        for (Setting s : List.of(shipped, new Setting(chosen.t(), chosen.sigmaMm(), 1), chosen)) {
            if (!rows.contains(s)) {
                rows.add(s);
            }
        }
        ObjectNode held = out.putObject("held_out");
        for (Setting s : rows) {
            Score sc = score(heldOut, s.t(), s.draws(), s.sigmaMm(), 50);
            String what = (s.equals(paper) ? " (the paper)" : "")
                    + (s.equals(shipped) ? " (the gateway's default)" : "")
                    + (s.equals(chosen) ? " (chosen on the training case)" : "");
            System.out.printf(
                    Locale.ROOT,
                    "| %s%s | %.4f | %.4f | %s |%n",
                    s.label(),
                    what,
                    sc.pixelAuroc(),
                    sc.seriesAuroc(),
                    scores(sc.seriesScores()));
            ObjectNode o = held.putObject(key(s));
            o.put("pixel_auroc", round(sc.pixelAuroc()));
            o.put("series_auroc", round(sc.seriesAuroc()));
        }
        triage(
                index.path("validation_case").asText() + " (held out), the shipped setting",
                heldOut,
                shipped,
                settings,
                50,
                out.putObject("triage_held_out"));
        if (!chosen.equals(shipped)) {
            System.out.printf(
                    Locale.ROOT,
                    "%nNote: the setting chosen on the training case differs from the gateway's default (%s): "
                            + "update gateway.diffusion.anomaly.* for this model.%n",
                    shipped.label());
        }
        out.put("shipped", key(shipped));
        realLesions(data, index, realLesionSettings(settings));
        return chosen;
    }

    private Setting tune(List<Case> train, JsonNode index, ObjectNode out) {
        System.out.printf(
                Locale.ROOT,
                "%n### Anomaly-map settings chosen on the training case %s (%d volumes with inserted lesions), pooled "
                        + "pixel AUROC%n%n",
                index.path("training_case").asText(),
                train.size());
        StringBuilder head = new StringBuilder("| t |");
        StringBuilder rule = new StringBuilder("| --- |");
        for (double s : SIGMA_GRID_MM) {
            head.append(String.format(Locale.ROOT, " smoothing %.0f mm |", s));
            rule.append(" --- |");
        }
        System.out.println(head);
        System.out.println(rule);
        Setting best = null;
        double bestAuc = Double.NEGATIVE_INFINITY;
        ObjectNode grid = out.putObject("tuning_on_training_case");
        for (int t : T_GRID) {
            List<FloatVolume> recon = reconstruct(train, t, 1, 150);
            StringBuilder row = new StringBuilder("| " + t + " |");
            for (double s : SIGMA_GRID_MM) {
                double auc = score(train, recon, s).pixelAuroc();
                row.append(String.format(Locale.ROOT, " %.4f |", auc));
                grid.put(key(new Setting(t, s, 1)), round(auc));
                if (auc > bestAuc) {
                    bestAuc = auc;
                    best = new Setting(t, s, 1);
                }
            }
            System.out.println(row);
        }
        // More draws cost one network evaluation per patch each; keep the fewest that do not lose AUROC.
        System.out.printf(
                Locale.ROOT,
                "%n| draws at t = %d, smoothing %.0f mm | pixel AUROC |%n| --- | --- |%n| 1 | %.4f |%n",
                best.t(),
                best.sigmaMm(),
                bestAuc);
        Setting chosen = best;
        double chosenAuc = bestAuc;
        for (int k : DRAWS_GRID) {
            Setting s = new Setting(best.t(), best.sigmaMm(), k);
            double auc =
                    score(train, reconstruct(train, s.t(), k, 150), s.sigmaMm()).pixelAuroc();
            System.out.printf(Locale.ROOT, "| %d | %.4f |%n", k, auc);
            grid.put(key(s), round(auc));
            if (auc >= chosenAuc + DRAWS_MIN_GAIN) {
                chosen = s;
                chosenAuc = auc;
            }
        }
        System.out.printf(
                Locale.ROOT,
                "%nChosen: %s (gateway.diffusion.anomaly.t / .smoothing-sigma-mm / .draws; a larger number of draws "
                        + "is taken when it adds at least %.3f).%n",
                chosen.label(),
                DRAWS_MIN_GAIN);
        out.put("chosen", key(chosen));
        return chosen;
    }

    /** The settings the real lesions are scored with: the paper's and the shipped one. */
    static List<Setting> realLesionSettings(ShippedSettings settings) {
        Setting shipped = new Setting(
                settings.anomaly().t(),
                settings.anomaly().smoothingSigmaMm(),
                settings.anomaly().draws());
        Setting paper = new Setting(AnomalyMap.T_PAPER, 0, 1);
        return shipped.equals(paper) ? List.of(paper) : List.of(paper, shipped);
    }

    /** Real lesions only (bin/evaluate --only lesions): the IBSI sarcomas and any --lesion-case volumes. */
    void realLesionsOnly(Path data, JsonNode index, ShippedSettings settings) throws IOException {
        realLesions(data, index, realLesionSettings(settings));
    }

    /** Both tables; figures in the "real_lesions" section of the results (the model card's gateway_evaluation). */
    private void realLesions(Path data, JsonNode index, List<Setting> settings) throws IOException {
        realLesions(
                data,
                index,
                "real_lesion_cases",
                "Real lesions: IBSI soft-tissue sarcoma CT with the tumour mask (TRAINING "
                        + "volumes of the shipped model: the only real lesion masks in the shared data)",
                settings,
                "real_lesions_training_volumes");
        realLesions(
                data,
                index,
                "lesion_cases_held_out",
                "Real lesions, HELD OUT: the --lesion-case volumes with their lesion masks",
                settings,
                "real_lesions_held_out");
        if (index.path("real_lesion_cases").isEmpty()
                && index.path("lesion_cases_held_out").isEmpty()) {
            System.out.println(
                    "\nNo real-lesion cases in the evaluation set (the shared data is absent and no --lesion-case was given).");
        }
    }

    private void realLesions(
            Path data, JsonNode index, String key, String heading, List<Setting> settings, String section)
            throws IOException {
        if (index.path(key).isEmpty()) {
            return; // no section either: an empty one would replace the card's figures
        }
        ObjectNode real = results.withObjectProperty("real_lesions").putObject(section);
        System.out.printf(Locale.ROOT, "%n### %s%n%n", heading);
        System.out.printf(
                Locale.ROOT,
                "Pixel AUROC of lesion voxels against the other soft-tissue voxels of the block (ROI: soft tissue "
                        + "eroded 1 voxel, plus the lesion); lesion / rest: mean map value inside the lesion over the mean in the rest of the ROI; "
                        + "counted as anomalous when the AUROC is at least %.2f (the inserted-lesion bar).%n%n",
                INSERTED_BAR);
        StringBuilder head = new StringBuilder("| case | block | lesion voxels |");
        StringBuilder rule = new StringBuilder("| --- | --- | --- |");
        for (Setting s : settings) {
            head.append(" AUROC, ").append(s.label()).append(" | lesion / rest | anomalous |");
            rule.append(" --- | --- | --- |");
        }
        System.out.println(head);
        System.out.println(rule);
        for (JsonNode c : index.path(key)) {
            FloatVolume roi = Evaluation.read(data, index, c.path("roi").asText());
            Case cs = prepare(
                    Evaluation.read(data, index, c.path("volume").asText()),
                    roi,
                    Evaluation.read(data, index, c.path("mask").asText()),
                    true);
            StringBuilder row = new StringBuilder(String.format(
                    Locale.ROOT,
                    "| %s | %s | %d |",
                    c.path("case").asText(),
                    roi.shapeString(),
                    c.path("tumour_voxels_in_block").asInt()));
            ObjectNode o = real.putObject(c.path("case").asText());
            for (Setting s : settings) {
                FloatVolume recon =
                        reconstruct(List.of(cs), s.t(), s.draws(), 70).get(0);
                FloatVolume map = mapOnSource(cs, recon, s.sigmaMm());
                double[] v = values(map, cs.roi());
                boolean[] l = labels(cs.lesions(), cs.roi());
                double auc = ImageMetrics.auroc(v, l);
                double ratio = mean(v, l, true) / mean(v, l, false);
                row.append(String.format(
                        Locale.ROOT, " %.4f | %.2f | %s |", auc, ratio, auc >= INSERTED_BAR ? "yes" : "no"));
                o.put(key(s) + "_pixel_auroc", round(auc));
                o.put(key(s) + "_tumour_over_rest", round(ratio));
                o.put(key(s) + "_counted_as_anomalous", auc >= INSERTED_BAR);
            }
            System.out.println(row);
        }
    }

    /** Series scores and the priority the gateway's thresholds give them (what a triage consumer sees). */
    private void triage(String what, List<Case> cases, Setting s, ShippedSettings settings, int seed, ObjectNode out) {
        Score sc = score(cases, s.t(), s.draws(), s.sigmaMm(), seed);
        System.out.printf(
                Locale.ROOT,
                "%nTriage on the %s (URGENT >= %.4g, STAT >= %.4g, gateway.diffusion.anomaly.*-score):%n%n",
                what,
                settings.anomaly().urgentScore(),
                settings.anomaly().statScore());
        System.out.println("| volume | inserted lesion | series score | priority |");
        System.out.println("| --- | --- | --- | --- |");
        for (int i = 0; i < cases.size(); i++) {
            String p = settings.priority(sc.seriesScores()[i]).name();
            System.out.printf(
                    Locale.ROOT,
                    "| %d | %s | %.4f | %s |%n",
                    i,
                    cases.get(i).hasLesion() ? "yes" : "no",
                    sc.seriesScores()[i],
                    p);
            if (out != null) {
                ObjectNode o = out.putObject("volume_" + i);
                o.put("lesion", cases.get(i).hasLesion());
                o.put("score", round(sc.seriesScores()[i]));
                o.put("priority", p);
            }
        }
    }

    // ------------------------------------------------------------------ scoring

    private Score score(List<Case> cases, int t, int draws, double sigmaMm, int seed) {
        return score(cases, reconstruct(cases, t, draws, seed), sigmaMm);
    }

    private Score score(List<Case> cases, List<FloatVolume> recon, double sigmaMm) {
        List<double[]> s = new ArrayList<>();
        List<boolean[]> l = new ArrayList<>();
        double[] series = new double[cases.size()];
        boolean[] seriesLabels = new boolean[cases.size()];
        for (int i = 0; i < cases.size(); i++) {
            Case c = cases.get(i);
            FloatVolume map = mapOnSource(c, recon.get(i), sigmaMm);
            s.add(values(map, c.roi()));
            l.add(labels(c.lesions(), c.roi()));
            series[i] = AnomalyMap.score(map, c.roi(), AnomalyMap.QUANTILE_DEFAULT);
            seriesLabels[i] = c.hasLesion();
        }
        return new Score(
                ImageMetrics.auroc(concat(s), concatLabels(l)), ImageMetrics.auroc(series, seriesLabels), series);
    }

    /** x0' of every case on its padded 1 mm grid (noise seed = seed + case index, as the task derives it from the job). */
    private List<FloatVolume> reconstruct(List<Case> cases, int t, int draws, int seed) {
        List<FloatVolume> out = new ArrayList<>();
        for (int i = 0; i < cases.size(); i++) {
            Case c = cases.get(i);
            out.add(pipeline.anomaly(
                            c.volume(),
                            Region.ABDOMEN,
                            c.roiPadded(),
                            new DiffusionPipeline.AnomalySettings(t, 0, draws),
                            new SeededGaussianNoise(seed + i))
                    .onGrid1mm()
                    .x0Pred());
        }
        return out;
    }

    private FloatVolume mapOnSource(Case c, FloatVolume recon, double sigmaMm) {
        // the evaluation volumes are on a 1 mm grid: sigma in mm = sigma in voxels
        FloatVolume map = AnomalyMap.map(c.prepared().normalized(), recon, c.roiPadded(), sigmaMm);
        return preprocessing.mapToSourceGrid(map, c.prepared());
    }

    private List<Case> cases(Path data, JsonNode index, String key, String roiKey) throws IOException {
        FloatVolume roi = Evaluation.read(data, index, index.path(roiKey).asText("anomaly/roi"));
        List<Case> out = new ArrayList<>();
        for (JsonNode c : index.path(key)) {
            out.add(prepare(
                    Evaluation.read(data, index, c.path("volume").asText()),
                    roi,
                    Evaluation.read(data, index, c.path("mask").asText()),
                    c.path("lesion").asBoolean()));
        }
        return out;
    }

    private Case prepare(FloatVolume v, FloatVolume roi, FloatVolume lesions, boolean hasLesion) {
        Volume vol = Evaluation.volume(v, 0, 1);
        CtPreprocessing.Prepared p = preprocessing.prepare(vol, Region.ABDOMEN);
        FloatVolume roiPadded = VolumeBlocks.padZero(
                roi,
                p.normalized().depth(),
                p.normalized().height(),
                p.normalized().width());
        return new Case(vol, p, roiPadded, roi, lesions, hasLesion);
    }

    // ------------------------------------------------------------------ helpers

    private static String key(Setting s) {
        return String.format(Locale.ROOT, "t%d_smoothing_%.0fmm_draws_%d", s.t(), s.sigmaMm(), s.draws());
    }

    private static double round(double v) {
        return Math.round(v * 10000) / 10000.0;
    }

    private static String scores(double[] s) {
        StringBuilder b = new StringBuilder();
        for (double v : s) {
            b.append(b.isEmpty() ? "" : ", ").append(String.format(Locale.ROOT, "%.3f", v));
        }
        return b.toString();
    }

    static double[] values(FloatVolume map, FloatVolume roi) {
        return IntStream.range(0, roi.size())
                .filter(i -> roi.data()[i] > 0.5f)
                .mapToDouble(i -> map.data()[i])
                .toArray();
    }

    static boolean[] labels(FloatVolume mask, FloatVolume roi) {
        int[] idx =
                IntStream.range(0, roi.size()).filter(i -> roi.data()[i] > 0.5f).toArray();
        boolean[] l = new boolean[idx.length];
        for (int i = 0; i < idx.length; i++) {
            l[i] = mask.data()[idx[i]] > 0.5f;
        }
        return l;
    }

    private static double mean(double[] v, boolean[] l, boolean which) {
        double s = 0;
        int n = 0;
        for (int i = 0; i < v.length; i++) {
            if (l[i] == which) {
                s += v[i];
                n++;
            }
        }
        return n == 0 ? Double.NaN : s / n;
    }

    private static double[] concat(List<double[]> parts) {
        return parts.stream().flatMapToDouble(Arrays::stream).toArray();
    }

    private static boolean[] concatLabels(List<boolean[]> parts) {
        boolean[] out = new boolean[parts.stream().mapToInt(a -> a.length).sum()];
        int o = 0;
        for (boolean[] p : parts) {
            System.arraycopy(p, 0, out, o, p.length);
            o += p.length;
        }
        return out;
    }
}
