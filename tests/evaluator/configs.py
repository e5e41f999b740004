"""Small model configs shared by the cost tests (fast to trace; not a SPEC figure)."""

# A 3-layer BERT with hidden size 64.
SMALL = {"model_type": "bert", "hidden_size": 64, "num_hidden_layers": 3,
         "num_attention_heads": 4, "intermediate_size": 128, "vocab_size": 1000,
         "max_position_embeddings": 128}
