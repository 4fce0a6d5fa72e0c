"""Inference core of vcguard: normalization, keyword rules, scorers and the decision function.

Nothing in this package imports FastAPI or training code.
"""
