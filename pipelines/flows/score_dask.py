"""The Dask scoring flow: a partitioned export scored on a Dask cluster, one list file per partition."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

from prefect import flow

from features.config import load_config
from features.partitions import Partition
from pipelines.flows.common import resolve_model
from pipelines.progress import step
from pipelines.results import DaskScoreResult
from pipelines.settings import Settings
from serving import distributed as dist


@flow(name="score-dask", log_prints=True)
def score_dask_flow(
    partitions: list[Partition],
    out: Path,
    settings: Settings,
    address: str = "local",
    model_uri: str | None = None,
    config_path: Path | None = None,
    workers: int = 2,
    memory: str = "2GB",
    progress: Callable[[str, int, int], None] | None = None,
) -> DaskScoreResult:
    """Score every partition with a registered model (default: the champion) on a Dask cluster.

    ``address``: ``local`` starts a cluster on this machine (``workers`` processes, ``memory`` each), else
    a scheduler address. The model is resolved here and sent to the workers; ``progress(label, done,
    total)`` follows each pass over the partitions. Same rows, scores, ranks and reasons as one process.
    """
    t0 = time.perf_counter()
    config = load_config(config_path) if config_path else None
    tracking = settings.tracking(config.name if config else "default")
    resolved, config = resolve_model(tracking, model_uri, config)
    local = f"Starting a local Dask cluster ({workers} workers)"
    with step(local if address == "local" else f"Connecting to {address}"):
        client = dist.connect(address, workers=workers, memory_limit=memory)
    try:
        summary = dist.score_partitions(
            client, partitions, out, model=resolved.scorer, cutoffs=resolved.tier_cutoffs,
            model_version=resolved.version, config=config, reasons_limit=settings.reasons_limit, progress=progress,
        )  # fmt: skip
    finally:
        client.close()
        if address == "local":
            client.cluster.close()
    elapsed = time.perf_counter() - t0
    return DaskScoreResult.model_validate(
        {
            **summary,
            "model": resolved.uri,
            "dask": {**summary["dask"], "address": address},
            "elapsed_s": round(elapsed, 1),
            "leads_per_s": round(summary["list"]["rows"] / elapsed),
        }
    )
