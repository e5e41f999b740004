"""Pure ELUE evaluation code: task definitions, data reading, metrics, FLOPs, scores.

Nothing in this package imports the Django ORM except ``evaluator.tasks`` (thin Celery
shells). Heavy libraries (torch, transformers, fvcore) are imported inside the functions
that need them so that the web process never loads them.
"""
