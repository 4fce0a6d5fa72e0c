"""Offline training utilities: base-model conversion, model shrinking and ONNX export.

These modules need the ``train`` extra (torch, transformers, onnx); the serving path never
imports them.
"""
