"""Names every ``skyscript_drama`` run by its drama, however it was started.

A run started from the UI, the CLI or the REST API without a run id gets ``manual__<time>``: Airflow
builds that id before any SkyScript code runs (the timetable's ``generate_run_id`` never sees the
run's conf), and a task cannot rename its run or write its note. A listener can: when the scheduler
starts a run (and, for ``airflow dags test`` runs, which never pass through the scheduler, when the run
ends) a run without a note gets ``drama <drama>``, shown with the run in the grid and the run list.
Runs the crawl starts already have theirs (and a run id ``crawl__<drama>__...``); a note someone
wrote is never replaced.
"""

from __future__ import annotations

import sys
from typing import Any

from airflow.listeners import hookimpl
from sqlalchemy import inspect
from airflow.plugins_manager import AirflowPlugin

DRAMA_DAG = "skyscript_drama"


def run_note(dag_id: str, conf: Any) -> str | None:
    """The note a drama run gets: ``drama <drama>`` (None for other DAGs, or no drama in conf)."""
    if dag_id != DRAMA_DAG or not isinstance(conf, dict):
        return None
    drama = conf.get("drama")
    return f"drama {drama}" if isinstance(drama, str) and drama else None


def name_run(dag_run: Any) -> None:
    note = run_note(dag_run.dag_id, dag_run.conf)
    if not note:
        return
    if inspect(dag_run).session is not None:  # the scheduler's: saved with its transaction
        if not dag_run.note:
            dag_run.note = note
        return
    from airflow.models.dagrun import DagRun
    from airflow.utils.session import create_session

    with create_session() as session:  # a run object no session holds any more (dags test)
        row = session.get(DagRun, dag_run.id)
        if row is not None and not row.note:
            row.note = note


@hookimpl
def on_dag_run_running(dag_run: Any, msg: str) -> None:
    name_run(dag_run)


@hookimpl
def on_dag_run_success(dag_run: Any, msg: str) -> None:
    name_run(dag_run)


@hookimpl
def on_dag_run_failed(dag_run: Any, msg: str) -> None:
    name_run(dag_run)


class SkyScriptRunNotesPlugin(AirflowPlugin):
    name = "skyscript_run_notes"
    listeners = [sys.modules[__name__]]
