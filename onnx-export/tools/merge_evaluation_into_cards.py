"""Merges the figures of a bin/evaluate run (data/eval/results.json) into the model cards' "gateway_evaluation".

  /usr/bin/python3 onnx-export/tools/merge_evaluation_into_cards.py RESULTS_JSON "COMMAND THAT PRODUCED IT"

bin/evaluate --update-cards calls it after its run. A partial run (--only) replaces its own sections and keeps the
others; each section names the run it came from. The cards' sha256 is the ONNX file's, so they stay valid.
"""
import json
import os
import sys
import time

MODELS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "models")
SECTIONS = (("meddiff-fm-base.card.json", ("denoise", "denoise_real_ldct", "anomaly", "real_lesions")),
            ("meddiff-fm-sr-controlnet.card.json", ("superres",)))


def main(argv):
    if len(argv) != 2:
        print(__doc__.strip(), file=sys.stderr)
        return 2
    r = json.load(open(argv[0]))
    meta = {k: r[k] for k in ("evaluation_set_created_utc", "validation_case", "provider", "threads", "steps", "sampler_settings")
            if k in r}
    meta.update(command=argv[1], date_utc=time.strftime("%Y-%m-%d", time.gmtime()),
                note="the gateway's Java samplers through DiffusionPipeline (docs/EVALUATION.md has the tables)")
    for card, keys in SECTIONS:
        path = os.path.join(MODELS, card)
        c = json.load(open(path))
        ev = c.get("gateway_evaluation", {})
        ev.update(meta)
        for k in keys:
            if k in r:
                ev[k] = dict(r[k], run={x: meta[x] for x in ("command", "date_utc", "sampler_settings") if x in meta})
        c["gateway_evaluation"] = ev
        with open(path, "w") as f:
            json.dump(c, f, indent=1)
        print("updated", os.path.normpath(path))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
