"""Stage 2, counting cost: the architectures ELUE builds from a ``config.json``
(``architectures``; per family what the counter needs to know: ``families``; size limits
checked before anything is built: ``config_limits``; values refused with a reason:
``config_checks``; pruned heads: ``pruning``), fvcore set to ELUE's FLOPs rules
(``fvcore_rules``), the fitted per-example cost (``per_example``), token lengths
(``token_lengths``), a model definition's cost (``definition``) and the reference model's FLOPs
(``reference_flops``). Reads no bundle and runs no submitted code."""
