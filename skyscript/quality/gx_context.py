"""A Great Expectations 1.x context for one validation: ephemeral, in memory, no analytics, no
progress bars, and quiet (GX logs about 220 INFO lines on import and per validation)."""

from __future__ import annotations

import logging
from typing import Any


def ephemeral_pandas(source_name: str) -> tuple[Any, Any]:
    """``(context, pandas data source)`` for validating data frames in this process."""
    logging.getLogger("great_expectations").setLevel(logging.WARNING)
    import great_expectations as gx
    from great_expectations.data_context.types.base import (
        DataContextConfig,
        InMemoryStoreBackendDefaults,
        ProgressBarsConfig,
    )

    context = gx.get_context(
        mode="ephemeral",
        project_config=DataContextConfig(
            analytics_enabled=False,
            progress_bars=ProgressBarsConfig(globally=False),
            store_backend_defaults=InMemoryStoreBackendDefaults(),
        ),
    )
    return context, context.data_sources.add_pandas(source_name)
