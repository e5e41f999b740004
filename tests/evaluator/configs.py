"""Model configs shared by the cost tests: small ones (fast to trace; not a SPEC figure) and
the published shapes of the architectures researchers submit (config.json as on the Hub,
the fields that shape the model)."""

# A 3-layer BERT with hidden size 64.
SMALL = {"model_type": "bert", "hidden_size": 64, "num_hidden_layers": 3,
         "num_attention_heads": 4, "intermediate_size": 128, "vocab_size": 1000,
         "max_position_embeddings": 128}

_ROBERTA_BASE = {"hidden_size": 768, "num_hidden_layers": 12, "num_attention_heads": 12,
                 "intermediate_size": 3072, "max_position_embeddings": 514,
                 "type_vocab_size": 1, "pad_token_id": 1, "layer_norm_eps": 1e-5}

DEBERTA_V3_XSMALL = {
    "model_type": "deberta-v2", "hidden_size": 384, "num_hidden_layers": 12,
    "num_attention_heads": 6, "intermediate_size": 1536, "vocab_size": 128100,
    "max_position_embeddings": 512, "relative_attention": True, "position_buckets": 256,
    "norm_rel_ebd": "layer_norm", "share_att_key": True, "pos_att_type": "p2c|c2p",
    "layer_norm_eps": 1e-7, "max_relative_positions": -1, "position_biased_input": False,
    "type_vocab_size": 0, "hidden_act": "gelu",
}
DEBERTA_V3_SMALL = {**DEBERTA_V3_XSMALL, "hidden_size": 768, "num_hidden_layers": 6,
                    "num_attention_heads": 12, "intermediate_size": 3072}
# DeBERTa-v2's own layout, shrunk: separate relative-position projections, absolute
# positions added to the input too (its convolution layer is refused: config_checks).
DEBERTA_V2_SMALL = {
    "model_type": "deberta-v2", "hidden_size": 128, "num_hidden_layers": 3,
    "num_attention_heads": 4, "intermediate_size": 256, "vocab_size": 1000,
    "max_position_embeddings": 512, "relative_attention": True, "position_buckets": 64,
    "norm_rel_ebd": "layer_norm", "share_att_key": False, "pos_att_type": ["p2c", "c2p"],
    "max_relative_positions": -1, "position_biased_input": True, "type_vocab_size": 2,
}
XLM_ROBERTA_BASE = {"model_type": "xlm-roberta", **_ROBERTA_BASE, "vocab_size": 250002}
CAMEMBERT_BASE = {"model_type": "camembert", **_ROBERTA_BASE, "vocab_size": 32005,
                  "bos_token_id": 5, "eos_token_id": 6}
MPNET_BASE = {"model_type": "mpnet", **_ROBERTA_BASE, "vocab_size": 30527,
              "relative_attention_num_buckets": 32}
MODERNBERT_BASE = {
    "model_type": "modernbert", "hidden_size": 768, "num_hidden_layers": 22,
    "num_attention_heads": 12, "intermediate_size": 1152, "vocab_size": 50368,
    "max_position_embeddings": 8192, "local_attention": 128, "global_attn_every_n_layers": 3,
    "norm_bias": False, "mlp_bias": False, "attention_bias": False,
    "classifier_pooling": "mean", "pad_token_id": 50283, "bos_token_id": 50281,
    "eos_token_id": 50282, "cls_token_id": 50281, "sep_token_id": 50282,
    "global_rope_theta": 160000.0, "local_rope_theta": 10000.0, "norm_eps": 1e-5,
    "hidden_activation": "gelu",
}

NEW_ARCHITECTURES = {
    "deberta-v3-xsmall": DEBERTA_V3_XSMALL, "deberta-v3-small": DEBERTA_V3_SMALL,
    "deberta-v2-conv": DEBERTA_V2_SMALL, "xlm-roberta-base": XLM_ROBERTA_BASE,
    "camembert-base": CAMEMBERT_BASE, "mpnet-base": MPNET_BASE,
    "modernbert-base": MODERNBERT_BASE,
}
