"""``--engine ray``: the same audit on Ray Data.

A single streaming read task (pinned to the driver's node, which holds the input file) turns the
input into Arrow blocks of items; a pool of actors, each loading the classifier once, classifies
them with the same :func:`~serving.audit.records.classify_items` the local engine uses; the driver
iterates the output in input order and writes and commits it like the local engine does. Local
Ray (``ray.init()``) unless ``--ray-address`` names a cluster, whose workers need vcguard and the
artifact installed.
"""

from __future__ import annotations

import inspect
import logging
import os
from typing import TYPE_CHECKING, Any, Iterator

from serving.audit.readers import InputSpec
from serving.audit.records import BatchOutput, Item, classify_items

if TYPE_CHECKING:
    import pyarrow as pa

    from serving.audit.runner import AuditConfig

logger = logging.getLogger(__name__)

_BATCHES_PER_BLOCK = 4  # several blocks in flight, so every actor gets work
_READ_CPUS = 0.5


def _items_table(items: list[Item]) -> "pa.Table":
    import pyarrow as pa

    return pa.table({
        "line": pa.array([i[0] for i in items], pa.int64()),
        "id": pa.array([i[1] for i in items], pa.string()),
        "text": pa.array([i[2] for i in items], pa.string()),
        "reason": pa.array([i[3] for i in items], pa.string()),
    })


def _make_source(spec: InputSpec, start_after: int, limit: int | None, block_rows: int) -> Any:
    """A Ray Data datasource streaming the input's items (built lazily: ray is optional)."""
    from ray.data.block import BlockMetadata
    from ray.data.datasource import Datasource, ReadTask

    class _PostSource(Datasource):
        def estimate_inmemory_data_size(self) -> int | None:
            return None

        @property
        def supports_distributed_reads(self) -> bool:
            return False  # the input file lives on the driver's node

        def get_read_tasks(self, parallelism: int, per_task_row_limit: int | None = None,
                           data_context: Any = None) -> list[ReadTask]:
            def read() -> Iterator["pa.Table"]:
                from serving.audit.runner import batched, iter_items

                for chunk in batched(iter_items(spec, start_after, limit), block_rows):
                    yield _items_table(chunk)

            try:
                meta = BlockMetadata(num_rows=None, size_bytes=None, input_files=(str(spec.path),), exec_stats=None)
            except TypeError:  # older Ray also wants a schema here
                meta = BlockMetadata(num_rows=None, size_bytes=None, schema=None,  # type: ignore[call-arg]
                                     input_files=(str(spec.path),), exec_stats=None)
            return [ReadTask(read, meta)]

    return _PostSource()


_OUTPUT_SCHEMA_FIELDS = (("line", "int64"), ("is_error", "bool_"), ("payload", "binary"),
                         ("decision", "string"), ("engine", "string"))


def _output_table(out: BatchOutput) -> "pa.Table":
    import pyarrow as pa

    columns: list[tuple[Any, ...]] = list(zip(*out.entries)) if out.entries else [() for _ in _OUTPUT_SCHEMA_FIELDS]
    return pa.table({name: pa.array(list(col), type=getattr(pa, kind)())
                     for (name, kind), col in zip(_OUTPUT_SCHEMA_FIELDS, columns)})


def _to_output(table: "pa.Table") -> BatchOutput:
    cols = table.to_pydict()
    return BatchOutput(entries=list(zip(*(cols[name] for name, _ in _OUTPUT_SCHEMA_FIELDS))))


class _ClassifyActor:
    """A Ray actor holding one classifier; maps a block of items to their encoded records."""

    def __init__(self, artifact: str | None, rules_only: bool) -> None:
        from serving.audit.runner import make_classifier

        self.clf = make_classifier(artifact, rules_only)

    def __call__(self, table: "pa.Table") -> "pa.Table":
        cols = table.to_pydict()
        items: list[Item] = list(zip(cols["line"], cols["id"], cols["text"], cols["reason"]))
        return _output_table(classify_items(self.clf, items) if items else BatchOutput())


def _start_ray(address: str | None, workers: int) -> bool:
    """Connect to ``address`` or start local Ray; True when this call started it."""
    import ray

    if ray.is_initialized():
        return False
    if address:
        ray.init(address=address, logging_level=logging.WARNING, log_to_driver=False)
    else:
        cpus = max(os.cpu_count() or 1, workers + 1)
        ray.init(num_cpus=cpus, include_dashboard=False, logging_level=logging.WARNING, log_to_driver=False)
    return True


def ray_outputs(cfg: "AuditConfig", spec: InputSpec, start_after: int, limit: int | None) -> Iterator[BatchOutput]:
    """Yield the audit's batch outputs in input order, classified by Ray Data actors."""
    try:
        import ray
        import ray.data
    except ImportError as exc:
        raise ValueError("--engine ray needs Ray Data: pip install 'vcguard[audit]' (ray[data])") from exc
    started = _start_ray(cfg.ray_address, cfg.workers)
    try:
        ctx = ray.data.DataContext.get_current()
        ctx.execution_options.preserve_order = True
        if hasattr(ctx, "enable_progress_bars"):
            ctx.enable_progress_bars = False
        logging.getLogger("ray.data").setLevel(logging.WARNING)
        # Reading is light: half a CPU, so the read task never waits behind the classifier actors.
        source = _make_source(spec, start_after, limit, cfg.batch_size * _BATCHES_PER_BLOCK)
        if "num_cpus" in inspect.signature(ray.data.read_datasource).parameters:
            ds = ray.data.read_datasource(source, num_cpus=_READ_CPUS)
        else:  # older Ray
            ds = ray.data.read_datasource(source, ray_remote_args={"num_cpus": _READ_CPUS})
        ds = ds.map_batches(_ClassifyActor, fn_constructor_args=(cfg.artifact, cfg.rules_only),
                            batch_size=cfg.batch_size, batch_format="pyarrow",
                            compute=ray.data.ActorPoolStrategy(size=cfg.workers), num_cpus=1)
        for table in ds.iter_batches(batch_size=None, batch_format="pyarrow"):
            if table.num_rows:
                yield _to_output(table)
    finally:
        if started:
            ray.shutdown()
