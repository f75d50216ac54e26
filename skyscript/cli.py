"""The `skyscript` command: run the pipeline locally, run one step (what a pod runs), export,
inspect status and lineage, manage the database."""

from __future__ import annotations

import json
import logging
import os
import sys
from pathlib import Path
from typing import Any

import click

from skyscript.config import Settings, load_settings, unknown_variables
from skyscript.errors import ParamsError
from skyscript.ids import one_line, redact_url


def setup_logging(level: str, quiet_console: bool = False) -> None:
    """Log records of the ``skyscript`` loggers to stderr, one line each (:mod:`skyscript.logs`)."""
    from skyscript.logs import stderr_handler

    root = logging.getLogger("skyscript")
    root.handlers[:] = [stderr_handler()]
    root.setLevel(logging.WARNING if quiet_console else level.upper())
    root.propagate = False


def _load(config_file: str | None) -> Settings:
    """The settings, with a bad value or config file as one line (exit 2), not a traceback."""
    import tomllib

    from pydantic import ValidationError

    try:
        return load_settings(config_file) if config_file else Settings()
    except ValidationError as exc:
        problems = []
        for e in exc.errors():
            loc = ".".join(str(p) for p in e["loc"])
            env = "SKYSCRIPT_" + "__".join(str(p) for p in e["loc"]).upper()
            problems.append(f"{loc} ({env}={e.get('input')!r}): {e['msg']}")
        raise click.UsageError("bad setting: " + "; ".join(problems)) from None
    except tomllib.TOMLDecodeError as exc:
        raise click.UsageError(f"config file {config_file or os.environ.get('SKYSCRIPT_CONFIG')} is not valid TOML: {exc}") from None
    except (FileNotFoundError, ValueError) as exc:
        raise click.UsageError(str(exc)) from None


def _settings(ctx: click.Context) -> Settings:
    return ctx.obj["settings"]  # type: ignore[no-any-return]


class _Cli(click.Group):
    """Turns a service that cannot be reached into one line (exit 1) instead of a traceback."""

    def invoke(self, ctx: click.Context) -> Any:
        from sqlalchemy.exc import OperationalError

        from skyscript.store import StoreError

        try:
            return super().invoke(ctx)
        except OperationalError as exc:
            settings = (ctx.obj or {}).get("settings")
            where = redact_url(settings.database_url or "") if settings is not None else "the lineage database"
            first = str(exc.orig or exc).strip().splitlines()[0]
            raise click.ClickException(f"cannot use the lineage database {where}: {first}") from None
        except StoreError as exc:
            raise click.ClickException(f"object store: {str(exc).splitlines()[0]}") from None


@click.group(cls=_Cli, context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.option("--config", "config_file", type=click.Path(dir_okay=False), envvar="SKYSCRIPT_CONFIG",
              help="TOML settings file (default: $SKYSCRIPT_CONFIG; environment SKYSCRIPT_* overrides it).")
@click.option("-v", "--verbose", is_flag=True, help="Log every step of every episode.")
@click.pass_context
def cli(ctx: click.Context, config_file: str | None, verbose: bool) -> None:
    """SkyScript: turn short-drama episodes into a SkyScript-100M style dataset.

    \b
    With no configuration everything lives under $SKYSCRIPT_HOME (default ~/.skyscript):
    a SQLite lineage database and a local object store. Point SKYSCRIPT_DATABASE_URL at
    Postgres and SKYSCRIPT_STORE_URL at s3://host:port for production.

    \b
    Typical use:
      skyscript run ~/videos/drama1 --drama drama1     # whole pipeline, locally
      skyscript status --drama drama1                  # what happened, what was lost
      skyscript export --drama drama1 --out ./ds --frames
      skyscript trace drama1--ep01--f0000120           # where a keyframe came from
    """
    settings = _load(config_file)
    setup_logging(settings.log_level if verbose else "WARNING")
    for key, near in unknown_variables():
        click.echo(f"warning: {one_line(key)} names no setting" + (f"; did you mean {near}?" if near else "") + " (ignored)", err=True)
    ctx.obj = {"settings": settings, "verbose": verbose}


@cli.command()
@click.argument("sources", nargs=-1, required=True)
@click.option("--drama", "drama_id", required=True, help="Drama id (lower-case letters, digits, '-').")
@click.option("--steps", default=None, help="Comma-separated steps to run (default: all; `skyscript steps` lists them).")
@click.option("--param", "params", multiple=True, metavar="STEP.NAME=VALUE",
              help="Override one step parameter for this run, e.g. keyinfo.max_tokens=512 (repeatable).")
@click.option("--vlm-max-tokens", type=click.IntRange(16), default=None,
              help="Cap on the tokens one VLM answer may take (default: SKYSCRIPT_VLM__MAX_TOKENS).")
@click.option("--vlm-concurrency", type=click.IntRange(1), default=None,
              help="Most VLM requests in flight; the client starts at one and grows while latency holds "
                   "(default: SKYSCRIPT_VLM__CONCURRENCY).")
@click.option("--force", is_flag=True, help="Redo every step, also those whose inputs are unchanged since their last success.")
@click.option("--no-progress", is_flag=True, help="No progress bar (for logs and CI).")
@click.option("--jobs", "-j", type=click.IntRange(1, 256), default=1, show_default=True,
              help="Episodes in this many worker processes (each sets its models up once); ingest and drama steps run in this one.")
@click.pass_context
def run(ctx: click.Context, sources: tuple[str, ...], drama_id: str, steps: str | None, params: tuple[str, ...],
        vlm_max_tokens: int | None, vlm_concurrency: int | None, force: bool, no_progress: bool, jobs: int) -> None:
    """Run the whole pipeline in-process on SOURCES (files, folders, http(s) URLs, s3://bucket/prefix).

    Episodes already ingested with the same content are not re-copied; re-running replaces each
    step's outputs and duplicates nothing. Bad files are quarantined with their reason and the
    run carries on; the exit code is 1 when a source could not be read, any episode failed or
    the loss gate did not pass.
    """
    from tqdm import tqdm

    from skyscript.pipeline import run_drama

    settings = _settings(ctx)
    vlm = {k: v for k, v in {"max_tokens": vlm_max_tokens, "concurrency": vlm_concurrency}.items() if v is not None}
    if vlm:
        settings = settings.model_copy(update={"vlm": settings.vlm.model_copy(update=vlm)})
    overrides = _parse_params(params)
    bad = [k for k in overrides if "." not in k]
    if bad:
        raise click.UsageError(f"--param {bad[0]}: name the step, e.g. keyinfo.{bad[0]}=...")
    sctx = _open(settings, drama_id, params=overrides)
    sctx.force = force
    bar = tqdm(total=0, unit="step", disable=no_progress, file=sys.stderr, dynamic_ncols=True)

    def on_total(n: int) -> None:
        bar.total = n
        bar.refresh()

    def on_step(step: str, episode: str | None) -> None:
        bar.set_description(f"{(episode or '').split('--', 1)[-1]} {step}")
        bar.update(1)

    from skyscript.db.leases import LeaseBusy

    _stop_on_sigterm()
    try:
        summary = run_drama(sctx, list(sources), steps=steps.split(",") if steps else None, on_step=on_step, on_total=on_total,
                             jobs=jobs)
    except (KeyError, ParamsError) as exc:
        raise click.UsageError(_message(exc)) from None
    except LeaseBusy as exc:
        raise click.ClickException(
            f"drama {drama_id} is being processed by another run ({exc.holder}); nothing was done. "
            "Wait for it, or set SKYSCRIPT_RUN_WAIT_S to wait (`skyscript status` shows it, `skyscript unlock` breaks it)"
        ) from None
    finally:
        bar.close()
    gate = None
    unpublished = None
    if not summary.failed or summary.loss is not None:
        # the same gate and reports as the drama DAG: loss report, audit page, Data Docs
        from skyscript.audit.publish import publish_drama_reports
        from skyscript.quality.gate import run_loss_gate
        from skyscript.store import StoreError

        try:
            gate = run_loss_gate(sctx, run_id=summary.dag_run_id)
            publish_drama_reports(settings, drama_id)
        except StoreError as exc:  # the store went away during the run: the summary still says what happened
            unpublished = str(exc).splitlines()[0]
    _print_summary(summary, settings, gate, unpublished)
    sctx.db.dispose()
    sys.exit(0 if summary.ok and unpublished is None and (gate is None or gate.passed) else 1)


def _print_summary(summary: Any, settings: Settings, gate: Any = None, unpublished: str | None = None) -> None:
    loss = summary.loss
    click.echo(f"drama {summary.drama_id}  run {summary.dag_run_id}")
    if loss is not None:
        click.echo(
            f"  episodes: {loss.episodes} ({loss.episodes_lost} quarantined)   keyframes: {loss.keyframes} "
            f"({loss.keyframes_lost} lost)   loss rate {loss.loss_rate:.2%} "
            f"(limit {loss.max_loss_rate:.0%}: {'within' if loss.passed else 'ABOVE'})"
        )
        for reason, n in sorted(loss.by_reason.items()):
            click.echo(f"    lost {n} x {reason}")
    for ep, reason in sorted(summary.quarantined.items()):
        click.echo(f"  quarantined {ep}: {one_line(reason)}")
    for res in summary.failed:
        where = f"on {res.episode_id}" if res.episode_id else "(drama)"
        click.echo(f"  FAILED {res.step} {where}: {one_line(str(res.error))}")
    for source, why in sorted(summary.unreachable.items()):
        click.echo(f"  UNREACHABLE {one_line(why if source in why else f'{source}: {why}')}")
    if gate is not None:
        click.echo(f"  loss gate: {'pass' if gate.passed else 'FAIL'}  report public/{gate.report_key}")
        for f in gate.failures:
            click.echo(f"    {one_line(str(f))}")
    if unpublished is not None:
        click.echo(f"  reports not written: {one_line(unpublished)}")
    click.echo(f"  lineage database: {redact_url(settings.database_url or '')}")
    click.echo(f"  object store:     {redact_url(settings.store_url or '')}")


@cli.command()
@click.argument("name")
@click.option("--drama", "drama_id", required=True, help="Drama id.")
@click.option("--episode", "episode_ids", multiple=True, help="Episode id (repeat for several; per-episode steps).")
@click.option("--episodes", "episode_list", default=None, metavar="'A B C'",
              help="Several episode ids at once, separated by spaces or commas (added to --episode).")
@click.option("--source", "sources", multiple=True, help="Source for the ingest step (repeatable).")
@click.option("--dag-run-id", default=None, help="Airflow DAG run id, recorded in lineage.")
@click.option("--try-number", default=1, type=int, show_default=True, help="Airflow try number, recorded in lineage.")
@click.option("--param", "params", multiple=True, help="Extra step parameter KEY=VALUE (repeatable).")
@click.option("--force", is_flag=True, help="Redo the step also where its inputs are unchanged since its last success.")
@click.pass_context
def step(
    ctx: click.Context, name: str, drama_id: str, episode_ids: tuple[str, ...], episode_list: str | None,
    sources: tuple[str, ...], dag_run_id: str | None, try_number: int, params: tuple[str, ...], force: bool,
) -> None:
    """Run one step NAME for the given ids: the entry point each pod runs.

    The step is set up once for all the episodes given (its models load once). Parameters
    default to the step's settings section (`skyscript steps` names it) and --param NAME=VALUE
    overrides them. Prints one JSON line per result on stdout. Exits 1 when a step failed (so
    that the orchestrator retries it); a quarantined episode is a result, not a failure.
    """
    from skyscript.steps.invoke import Invocation, run_invocation

    _stop_on_sigterm()
    episodes = list(episode_ids) + (episode_list or "").replace(",", " ").split()
    inv = Invocation(name, drama_id, episodes, list(sources), dag_run_id, try_number, _parse_params(params), force)
    try:
        outcome = run_invocation(_settings(ctx), inv)
    except (KeyError, ValueError) as exc:  # unknown step, no episode, bad parameter or drama id
        raise click.UsageError(_message(exc)) from None
    for line in outcome.lines():
        click.echo(line)
    sys.exit(1 if outcome.failed else 0)


def _stop_on_sigterm() -> None:
    """SIGTERM (systemd, Kubernetes) leaves through the ``finally`` blocks like ^C: the step run is
    marked interrupted and the leases are released, instead of both lingering as after kill -9."""
    import signal

    def stop(signum: int, _frame: Any) -> None:
        raise SystemExit(128 + signum)

    signal.signal(signal.SIGTERM, stop)


def _aware(t: Any) -> Any:
    """SQLite hands datetimes back without their time zone; they were written in UTC."""
    from datetime import timezone

    return t if t.tzinfo else t.replace(tzinfo=timezone.utc)


def _message(exc: BaseException) -> str:
    """One line for a usage error (a KeyError's text without the quotes repr adds)."""
    return str(exc.args[0]) if isinstance(exc, KeyError) and exc.args else str(exc)


def _parse_params(params: tuple[str, ...]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for p in params:
        key, sep, value = p.partition("=")
        if not sep or not key:
            raise click.UsageError(f"--param {p!r}: expected NAME=VALUE")
        out[key.strip()] = value
    return out


def _open(settings: Settings, drama_id: str, **kw: Any) -> Any:
    """The run context, with a bad drama id as a usage error rather than a traceback."""
    from skyscript.context import open_context

    try:
        return open_context(settings, drama_id, **kw)
    except ValueError as exc:
        raise click.UsageError(str(exc)) from None


@cli.command()
@click.option("--drama", "drama_id", default=None, help="One drama (default: every drama).")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@click.pass_context
def status(ctx: click.Context, drama_id: str | None, as_json: bool) -> None:
    """What a drama's runs did: row counts, step runs by status, losses by reason, the loss gate."""
    from sqlalchemy import func, select

    from skyscript.db import leases, lineage
    from skyscript.db.engine import Database
    from skyscript.db.models import Drama, StepRun
    from skyscript.db.models import utcnow
    from skyscript.db.pairs import restoration_summary
    from skyscript.quality.gate import check_gate
    from skyscript.quality.loss import loss_report

    settings = _settings(ctx)
    db = Database(settings.database_url or "")
    db.upgrade()
    out: list[dict[str, Any]] = []
    with db.session() as s:
        dramas = [drama_id] if drama_id else list(s.scalars(select(Drama.id).order_by(Drama.id)))
        if drama_id and s.get(Drama, drama_id) is None:
            known = list(s.scalars(select(Drama.id).order_by(Drama.id).limit(20)))
            db.dispose()
            raise click.ClickException(f"no drama {drama_id!r} in {redact_url(settings.database_url or '')}"
                                       + (f"; known: {', '.join(known)}" if known else "; run `skyscript run` first"))
        for d in dramas:
            runs = dict(
                s.execute(select(StepRun.status, func.count()).where(StepRun.drama_id == d).group_by(StepRun.status)).all()
            )
            failures = [
                {"step": r.step, "episode": r.episode_id, "error": r.error, "at": r.started_at.isoformat()}
                for r in s.scalars(
                    select(StepRun).where(StepRun.drama_id == d, StepRun.status == "failed").order_by(StepRun.id.desc()).limit(20)
                )
            ]
            now = utcnow()
            held = [
                {"step": "(whole run)" if le.step == leases.RUN else le.step, "episode": le.episode_id or None,
                 "holder": le.holder, "expires_at": le.expires_at.isoformat(),
                 "state": "running" if _aware(le.expires_at) >= now else "stale"}
                for le in leases.active(s, d)
            ]
            gate_passed, gate_failures = check_gate(s, d, settings.thresholds.max_loss_rate)
            out.append({
                "drama": d,
                "restorations": restoration_summary(s, d, settings.pairs.gpu_seconds_per_1k_tokens),
                "gate": {"passed": gate_passed, "failures": gate_failures},
                "running": held,
                "rows": lineage.table_counts(s, d),
                "step_runs": runs,
                "recent_failures": failures,
                "loss": loss_report(s, d, settings.thresholds.max_loss_rate).as_dict(),
            })
    db.dispose()
    if as_json:
        click.echo(json.dumps(out, indent=2, default=str))
        return
    if not out:
        click.echo("no dramas yet: run `skyscript run PATH --drama ID`")
    for d in out:
        loss = d["loss"]
        click.echo(f"drama {d['drama']}")
        click.echo("  rows: " + ", ".join(f"{k} {v}" for k, v in d["rows"].items()))
        click.echo("  step runs: " + ", ".join(f"{k} {v}" for k, v in sorted(d["step_runs"].items())))
        click.echo(
            f"  loss: {loss['loss_rate']:.2%} (episodes {loss['episodes_lost']}/{loss['episodes']}, "
            f"keyframes {loss['keyframes_lost']}/{loss['keyframes']}) limit {loss['max_loss_rate']:.0%}; "
            f"loss gate: {'pass' if d['gate']['passed'] else 'FAIL'}"
        )
        for f in d["gate"]["failures"]:
            click.echo(f"    {f}")
        for reason, n in sorted(loss["by_reason"].items()):
            click.echo(f"    {reason}: {n}")
        r = d["restorations"]
        if r["scripts"]:
            click.echo(
                f"  restorations: {r['done']}/{r['requested']} done, {r['rejected']} rejected, {r['failed']} failed over "
                f"{r['scripts']} shooting scripts; {r['completion_tokens']} tokens; about "
                f"{r['gpu_hours_per_1k_scripts']:.3f} GPU-hours per 1,000 scripts"
            )
        for r in d["running"]:
            what = "running" if r["state"] == "running" else "stale lease (its holder stopped; taken over by the next run)"
            click.echo(f"  {what}: {r['step']} on {r['episode'] or d['drama']} (run {r['holder']}, until {r['expires_at']})")
        for f in d["recent_failures"][:5]:
            click.echo(f"  failed {f['step']} {f['episode']}: {one_line(str(f['error']))}")


@cli.command()
@click.option("--drama", "drama_id", required=True, help="Drama whose leases to break.")
@click.option("--episode", "episode_id", default=None, help="Only this episode ('' for drama-scope steps).")
@click.option("--step", "step_name", default=None, help="Only this step.")
@click.pass_context
def unlock(ctx: click.Context, drama_id: str, episode_id: str | None, step_name: str | None) -> None:
    """Break step leases left by a run that died (a lease also expires by itself after
    SKYSCRIPT_STEP_LEASE_S). Only do this when no run is still working on the drama."""
    from skyscript.db import leases
    from skyscript.db.engine import Database

    db = Database(_settings(ctx).database_url or "")
    db.upgrade()
    with db.session() as s:
        held = [(le.episode_id, le.step, le.holder) for le in leases.active(s, drama_id)]
        n = leases.break_leases(s, drama_id, episode_id, step_name)
    db.dispose()
    for ep, st, holder in held:
        if (episode_id is None or ep == episode_id) and (step_name is None or st == step_name):
            click.echo(f"released {st} on {ep or drama_id} (held by {holder})")
    click.echo(f"{n} lease(s) released")


@cli.command()
@click.argument("keyframe_id")
@click.pass_context
def trace(ctx: click.Context, keyframe_id: str) -> None:
    """Trace a keyframe id (drama--episode--fNNNNNNN) or a script pair id (drama--episode--scNNNN--rNNNN)
    back to its shooting script, shots, frames, source file, step runs, models, prompts and losses (JSON)."""
    from dataclasses import asdict

    from skyscript.db import lineage
    from skyscript.db.engine import Database
    from skyscript.db.pairs import is_pair_id, trace_pair

    db = Database(_settings(ctx).database_url or "")
    try:
        with db.session() as s:
            out: Any = trace_pair(s, keyframe_id) if is_pair_id(keyframe_id) else asdict(lineage.trace_keyframe(s, keyframe_id))
    except LookupError as exc:
        raise click.ClickException(str(exc.args[0] if exc.args else exc)) from None
    finally:
        db.dispose()
    click.echo(json.dumps(out, indent=2, default=str))


@cli.command()
@click.option("--drama", "drama_id", required=True, help="Drama to export.")
@click.option("--out", "out_dir", required=True, type=click.Path(file_okay=False), help="Output folder.")
@click.option("--frames", is_flag=True, help="Also write the published (privacy-masked) JPEGs and a frame_file column.")
@click.pass_context
def export(ctx: click.Context, drama_id: str, out_dir: str, frames: bool) -> None:
    """Write the drama's dataset files (episodes/shots/keyframes Parquet, with --frames the masked JPEGs)."""
    from skyscript.db.models import Drama
    from skyscript.export import export_drama
    from skyscript.export.folder import ExportBusy

    sctx = _open(_settings(ctx), drama_id)
    with sctx.db.session() as s:
        if s.get(Drama, drama_id) is None:
            sctx.db.dispose()
            raise click.ClickException(f"no drama {drama_id!r}: nothing to export (run `skyscript run` first)")
    try:
        written = export_drama(sctx, Path(out_dir), with_frames=frames)
    except ExportBusy as exc:
        raise click.ClickException(str(exc)) from None
    except OSError as exc:  # a full disk, a folder not writable: the previous export stays as it was
        where = one_line(str(exc.filename or out_dir))
        raise click.ClickException(f"cannot write the export to {where}: {exc.strerror or exc}") from None
    finally:
        sctx.db.dispose()
    for name, n in written.items():
        click.echo(f"{name}: {n} rows")
    click.echo(f"written to {Path(out_dir).resolve()}")


@cli.command("steps")
@click.option("--params", "show_params", is_flag=True, help="Also list each step's parameters with their defaults.")
@click.pass_context
def list_steps(ctx: click.Context, show_params: bool) -> None:
    """The pipeline graph: each step in order with its scope, resources, the steps it runs after,
    what it reads and writes (annotation kinds, columns, store areas) and the kinds it owns."""
    from skyscript.steps import registry

    pipe = registry.PIPELINE
    for line in pipe.describe():
        click.echo(line)
    kinds = pipe.kinds()
    click.echo("annotation kinds: " + ", ".join(
        f"{k} v{kind.version} ({pipe.owner(k)})" for k, kind in kinds.items()))
    if show_params:
        settings = _settings(ctx)
        for cls in pipe.classes:
            section = f"  [SKYSCRIPT_{cls.settings_field.upper()}__*]" if cls.settings_field else ""
            click.echo(f"{cls.name}{section}")
            defaults = getattr(settings, cls.settings_field).model_dump(mode="json") if cls.settings_field else {}
            for fname, field in cls.params_model.model_fields.items():
                value = defaults.get(fname, field.default if field.default is not None else None)
                click.echo(f"  {fname} = {json.dumps(value, default=str)}  {field.description or ''}".rstrip())


@cli.command("config")
@click.pass_context
def show_config(ctx: click.Context) -> None:
    """Print the settings in force (secrets masked)."""
    click.echo(json.dumps(_settings(ctx).public_dict(), indent=2, default=str))


@cli.group()
def db() -> None:
    """Lineage database schema."""


@db.command("upgrade")
@click.option("--revision", default="head", show_default=True)
@click.pass_context
def db_upgrade(ctx: click.Context, revision: str) -> None:
    """Apply Alembic migrations up to REVISION."""
    from skyscript.db.engine import Database, current_revision, upgrade

    database = Database(_settings(ctx.find_root()).database_url or "")
    upgrade(database.engine, revision)
    click.echo(f"{database.engine.url.render_as_string(hide_password=True)} at revision {current_revision(database.engine)}")
    database.dispose()


def _register_groups() -> None:
    from skyscript.calibration_cli import calibrate

    cli.add_command(calibrate)


_register_groups()


def main() -> None:
    cli(prog_name="skyscript")


if __name__ == "__main__":
    main()
