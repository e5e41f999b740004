"""Per-example cost of the standard architectures at a few lengths, and the time to build
each cost model (fit and verify, on the meta device).

    .venv/bin/python bench/bench_architectures.py [--lengths 25 128 512]

Prints, per architecture (published shapes, two labels), MFLOPs per example at each length,
MParams, and the seconds ``build_cost_model`` took for the lengths 1..512.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from evaluator.cost.architectures import config_from_dict  # noqa: E402
from evaluator.cost.per_example import build_cost_model  # noqa: E402
from evaluator.cost.reference_flops import REFERENCE_CONFIG  # noqa: E402

_BASE = {"hidden_size": 768, "num_hidden_layers": 12, "num_attention_heads": 12,
         "intermediate_size": 3072}
_ROBERTA = {**_BASE, "max_position_embeddings": 514, "type_vocab_size": 1, "pad_token_id": 1}
_DEBERTA_V3 = {"model_type": "deberta-v2", **_BASE, "vocab_size": 128100,
               "relative_attention": True, "position_buckets": 256, "norm_rel_ebd": "layer_norm",
               "share_att_key": True, "pos_att_type": "p2c|c2p", "max_relative_positions": -1,
               "position_biased_input": False, "type_vocab_size": 0}
ARCHITECTURES = {
    "bert-base": REFERENCE_CONFIG,
    "deberta-v3-xsmall": {**_DEBERTA_V3, "hidden_size": 384, "num_attention_heads": 6,
                          "intermediate_size": 1536},
    "deberta-v3-small": {**_DEBERTA_V3, "num_hidden_layers": 6},
    "deberta-v3-base": _DEBERTA_V3,
    "xlm-roberta-base": {"model_type": "xlm-roberta", **_ROBERTA, "vocab_size": 250002},
    "camembert-base": {"model_type": "camembert", **_ROBERTA, "vocab_size": 32005},
    "mpnet-base": {"model_type": "mpnet", **_ROBERTA, "vocab_size": 30527},
    "modernbert-base": {"model_type": "modernbert", "hidden_size": 768,
                        "num_hidden_layers": 22, "num_attention_heads": 12,
                        "intermediate_size": 1152, "vocab_size": 50368,
                        "max_position_embeddings": 8192, "local_attention": 128,
                        "global_attn_every_n_layers": 3, "norm_bias": False,
                        "mlp_bias": False, "attention_bias": False,
                        "classifier_pooling": "mean", "pad_token_id": 50283,
                        "bos_token_id": 50281, "eos_token_id": 50282,
                        "cls_token_id": 50281, "sep_token_id": 50282},
    "bert-base, 3 of 12 heads pruned in every layer": {
        **REFERENCE_CONFIG, "pruned_heads": {str(i): [0, 1, 2] for i in range(12)}},
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lengths", type=int, nargs="+", default=[25, 128, 512])
    args = parser.parse_args()
    build_cost_model(config_from_dict(REFERENCE_CONFIG, 2), [8])  # imports, first trace
    print("| architecture | " + " | ".join(f"MFLOPs at {n}" for n in args.lengths)
          + " | MParams | cost model (s) |")
    print("|---|" + "---|" * (len(args.lengths) + 2))
    for name, raw in ARCHITECTURES.items():
        start = time.perf_counter()
        cost = build_cost_model(config_from_dict(raw, 2), np.arange(1, 513))
        seconds = time.perf_counter() - start
        mflops = 2 * cost.macs(np.array(args.lengths)) / 1e6
        print(f"| {name} | " + " | ".join(f"{m:,.2f}" for m in mflops)
              + f" | {cost.parameters() / 1e6:.2f} | {seconds:.2f} |")


if __name__ == "__main__":
    main()
