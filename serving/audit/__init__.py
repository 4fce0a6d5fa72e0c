"""Offline audits of post batches: ``vcguard audit`` (streaming, resumable, parallel, reported).

Modules: :mod:`~serving.audit.readers` (input formats), :mod:`~serving.audit.records` (the
records written), :mod:`~serving.audit.runner` (the local engine, checkpoints, summary),
:mod:`~serving.audit.ray_engine` (``--engine ray``), :mod:`~serving.audit.report` (the HTML
report) and :mod:`~serving.audit.cli` (``register(subparsers)``).
"""

from serving.audit.runner import AuditConfig, run_audit

__all__ = ["AuditConfig", "run_audit"]
