"""``skyscript calibrate``: draw review batches, review from the command line, report accuracy,
gate, rework and resample, and move batches to and from Label Studio."""

from __future__ import annotations

import json
import sys
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterator

import click
from pydantic import ValidationError

from skyscript.calibration.items import CorrectionError
from skyscript.calibration.sampling import CalibrationError
from skyscript.config import Settings
from skyscript.db.engine import Database


def _settings(ctx: click.Context) -> Settings:
    obj = ctx.find_root().obj or {}
    return obj.get("settings") or Settings()


@contextmanager
def _db(ctx: click.Context) -> Iterator[Database]:
    db = Database(_settings(ctx).database_url or "")
    db.upgrade()
    try:
        yield db
    except (CalibrationError, CorrectionError) as exc:
        raise click.ClickException(str(exc)) from None
    finally:
        db.dispose()


def _echo_json(data: Any) -> None:
    click.echo(json.dumps(data, indent=2, default=str))


@click.group("calibrate")
def calibrate() -> None:
    """Calibration: sample review packets, review them, gate on accuracy (Wilson lower bound
    >= thresholds.min_accuracy), rework and resample until a batch passes.

    \b
      skyscript calibrate sample --drama drama1            # prints the batch id
      skyscript calibrate status                           # batches and their review progress
      skyscript calibrate report --batch B                 # accuracy per field, interval, agreement
      skyscript calibrate gate --batch B                   # close a reviewed batch: exit 1 if it fails
      skyscript calibrate rework --batch B && skyscript calibrate resample --batch B
      skyscript calibrate export --batch B --format labelstudio --out tasks.json
      skyscript calibrate import --batch B export.json     # Label Studio export -> corrections
    """


@calibrate.command()
@click.option("--drama", "dramas", multiple=True, required=True, help="Drama to sample (repeat for several).")
@click.option("--size", type=int, default=None, help="Packets to draw (default calibration.batch_size, 200; capped at what exists).")
@click.option("--seed", type=int, default=None, help="Random seed (default: a fresh one, recorded on the batch).")
@click.option("--by", "created_by", default=None, help="Who asked for the batch (recorded).")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@click.pass_context
def sample(ctx: click.Context, dramas: tuple[str, ...], size: int | None, seed: int | None, created_by: str | None, as_json: bool) -> None:
    """Draw a seeded, stratified batch of packets; prints the batch id."""
    from skyscript.calibration.sampling import create_batch

    with _db(ctx) as db, db.session() as s:
        b = create_batch(s, _settings(ctx), list(dramas), size=size, seed=seed, created_by=created_by)
        out = {"batch_id": b.id, "dramas": b.dramas, "size": b.size, "requested_size": b.requested_size,
               "population": b.population, "seed": b.seed, "strata": b.strata}
    if as_json:
        _echo_json(out)
        return
    click.echo(out["batch_id"])
    note = f" (asked for {out['requested_size']}: that is all there is)" if out["requested_size"] > out["size"] else ""
    n_strata = len(out["strata"])
    click.echo(f"{out['size']} packets from {out['population']} keyframes of {', '.join(dramas)}, "
               f"{n_strata} {'stratum' if n_strata == 1 else 'strata'}, seed {out['seed']}{note}", err=True)


@calibrate.command()
@click.option("--batch", "batch_id", default=None, help="One batch (default: every batch).")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@click.pass_context
def status(ctx: click.Context, batch_id: str | None, as_json: bool) -> None:
    """Batches, their round, state and review progress."""
    from sqlalchemy import select

    from skyscript.calibration.review import get_batch, progress
    from skyscript.db.models import CalibrationBatch

    with _db(ctx) as db, db.session() as s:
        batches = [get_batch(s, batch_id)] if batch_id else list(s.scalars(select(CalibrationBatch).order_by(CalibrationBatch.created_at)))
        out = [{"batch_id": b.id, "dramas": b.dramas, "round": b.round, "status": b.status, "parent": b.parent_id,
                "size": b.size, **progress(s, b.id)} for b in batches]
    if as_json:
        _echo_json(out)
        return
    if not out:
        click.echo("no calibration batches yet: skyscript calibrate sample --drama D")
    for b in out:
        click.echo(f"{b['batch_id']}  {','.join(b['dramas'])}  round {b['round']}  {b['status']}  "
                   f"reviewed {b['reviewed']}/{b['packets']} (complete {b['complete']}, overlap {b['overlap']})")


@calibrate.command()
@click.option("--batch", "batch_id", required=True, help="Batch id.")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@click.pass_context
def report(ctx: click.Context, batch_id: str, as_json: bool) -> None:
    """Accuracy per field and overall with the Wilson interval, agreement, and the gate's verdict."""
    from skyscript.calibration.accuracy import batch_accuracy, summary_line

    with _db(ctx) as db, db.session() as s:
        rep = batch_accuracy(s, _settings(ctx), batch_id)
    if as_json:
        _echo_json(rep.model_dump(mode="json"))
        return
    click.echo(summary_line(rep))
    p = rep.progress
    click.echo(f"  reviewed {p['reviewed']}/{p['packets']} packets; packets fully correct: {rep.packets.correct}/{rep.packets.n}")
    for name, f in rep.fields.items():
        acc = "n/a" if f.accuracy is None else f"{f.accuracy:.1%}"
        click.echo(f"  {name:<24} {f.correct:>5}/{f.n:<5} {acc:>7}  [{f.lower:.1%}, {f.upper:.1%}]")
    a = rep.agreement
    if a.items:
        click.echo(f"  agreement on {a.items} items of {a.packets} overlap packets: observed {a.observed:.1%}, "
                   f"Cohen's kappa {a.cohens_kappa:.3f}, Fleiss' kappa {a.fleiss_kappa:.3f}, Krippendorff's alpha {a.krippendorff_alpha:.3f}")


calibrate.add_command(report, name="accuracy")


@calibrate.command()
@click.option("--batch", "batch_id", required=True, help="Batch id.")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@click.pass_context
def gate(ctx: click.Context, batch_id: str, as_json: bool) -> None:
    """Close a fully reviewed batch with the accuracy gate (a GX validation); exit 1 when it fails."""
    from skyscript.audit.publish import publish_batch_reports
    from skyscript.calibration.gate import run_accuracy_gate
    from skyscript.store import open_store

    settings = _settings(ctx)
    store = open_store(settings)
    with _db(ctx) as db, db.session() as s:
        res = run_accuracy_gate(s, settings, store, batch_id)
    with _db(ctx) as db, db.session() as s:
        publish_batch_reports(s, settings, store, batch_id)
    if as_json:
        _echo_json(res.summary())
    else:
        assert res.report.gate is not None
        click.echo(f"accuracy gate {'passed' if res.passed else 'FAILED'}: {res.report.gate.reason} (report: public/{res.report_key})")
    sys.exit(0 if res.passed else 1)


@calibrate.command()
@click.option("--batch", "batch_id", required=True, help="A failed batch.")
@click.option("--rerun", is_flag=True, help="Re-run the steps that own the failing fields over the batch's dramas.")
@click.pass_context
def rework(ctx: click.Context, batch_id: str, rerun: bool) -> None:
    """Send a failed batch's dramas to rework: which fields, annotation kinds and steps."""
    from skyscript.calibration.rework import rerun_steps
    from skyscript.calibration.rework import rework as do_rework

    settings = _settings(ctx)
    with _db(ctx) as db, db.session() as s:
        p = do_rework(s, batch_id, rerun_steps(settings) if rerun else None)
    click.echo(f"batch {batch_id} reworked: fields {', '.join(p.fields)}; steps {', '.join(p.steps)} "
               f"{'re-ran' if p.rerun else 'to re-run'} on {len(p.episodes)} episodes; next: skyscript calibrate resample --batch {batch_id}")


@calibrate.command()
@click.option("--batch", "batch_id", required=True, help="A reworked batch.")
@click.option("--size", type=int, default=None, help="Packets to draw (default: the reworked batch's size).")
@click.option("--seed", type=int, default=None, help="Random seed.")
@click.pass_context
def resample(ctx: click.Context, batch_id: str, size: int | None, seed: int | None) -> None:
    """Draw the next round after rework; prints the new batch id."""
    from skyscript.calibration.rework import resample as do_resample

    with _db(ctx) as db, db.session() as s:
        b = do_resample(s, _settings(ctx), batch_id, size=size, seed=seed)
        click.echo(b.id)


@calibrate.command()
@click.option("--drama", "drama_id", default=None, help="Audit report of a drama (loss, accuracy, trends, traces).")
@click.option("--batch", "batch_id", default=None, help="Audit report of a calibration batch.")
@click.option("--out", "out_dir", type=click.Path(file_okay=False), default=None, help="Also write index.html and the JSON here.")
@click.pass_context
def audit(ctx: click.Context, drama_id: str | None, batch_id: str | None, out_dir: str | None) -> None:
    """Write an auditor's report (HTML with plots, and the same numbers as JSON) to the public area."""
    from skyscript.audit.report import UnknownDrama, write_batch_audit, write_drama_audit
    from skyscript.store import open_store

    if (drama_id is None) == (batch_id is None):
        raise click.UsageError("give exactly one of --drama and --batch")
    settings = _settings(ctx)
    store = open_store(settings)
    with _db(ctx) as db, db.session() as s:
        try:
            if drama_id is not None:
                key, doc = write_drama_audit(s, settings, store, drama_id)
            else:
                key, doc = write_batch_audit(s, settings, store, batch_id or "")
        except UnknownDrama as exc:
            raise click.ClickException(f"{exc.args[0]}: run it first (skyscript run ... --drama {drama_id})") from None
    if out_dir:
        from skyscript.store import Area

        out = Path(out_dir)
        out.mkdir(parents=True, exist_ok=True)
        (out / "index.html").write_bytes(store.get_bytes(Area.public, key))
        (out / ("audit.json" if drama_id else "report.json")).write_text(json.dumps(doc, indent=2, default=str))
    click.echo(f"public/{key}")


@calibrate.command("data-docs")
@click.option("--only", default=None, help="Only gate reports whose scope contains this (a drama id, a batch id).")
@click.pass_context
def data_docs(ctx: click.Context, only: str | None) -> None:
    """Build GX Data Docs for the kept loss and accuracy gate reports under public/reports/data-docs/."""
    from skyscript.audit.datadocs import ROOT, build_site
    from skyscript.store import open_store

    pages = build_site(open_store(_settings(ctx)), only)
    click.echo(f"{len(pages)} Data Docs pages; index: public/{ROOT}/index.html")


@calibrate.command()
@click.option("--packet", "packet_id", required=True, help="Packet id.")
@click.pass_context
def show(ctx: click.Context, packet_id: str) -> None:
    """A packet's items (key, field, value) and who reviewed it."""
    from skyscript.calibration.review import get_packet, packet_items, submitted_reviewers

    with _db(ctx) as db, db.session() as s:
        p = get_packet(s, packet_id)
        click.echo(f"packet {p.id}: keyframe {p.keyframe_id} ({p.stratum}); reviewed by: {', '.join(submitted_reviewers(s, p.id)) or 'nobody yet'}")
        for it in packet_items(p):
            click.echo(f"  {it.key:<34} {it.field:<20} {json.dumps(it.value)}")


@calibrate.command()
@click.option("--packet", "packet_id", required=True, help="Packet id.")
@click.option("--reviewer", required=True, help="Your name (the author of the corrections).")
@click.option("--accept-rest", is_flag=True, help="Accept every item not decided yet.")
@click.argument("decisions", nargs=-1)
@click.pass_context
def review(ctx: click.Context, packet_id: str, reviewer: str, accept_rest: bool, decisions: tuple[str, ...]) -> None:
    """Decide items and submit the packet. DECISIONS are ITEM=accept, ITEM=reject or ITEM=fix:VALUE
    (items as `calibrate show` lists them)."""
    from skyscript.calibration.review import decide, submit

    with _db(ctx) as db, db.session() as s:
        for d in decisions:
            key, sep, what = d.partition("=")
            if not sep:
                raise CalibrationError(f"a decision is ITEM=accept|reject|fix:VALUE, not {d!r}")
            verb, _, value = what.partition(":")
            if verb not in ("accept", "reject", "fix"):
                raise CalibrationError(f"unknown decision {verb!r} in {d!r}: accept, reject or fix:VALUE")
            decide(s, packet_id, reviewer, key, verb, value if verb == "fix" else None)
        done = submit(s, packet_id, reviewer, accept_rest=accept_rest)
    written = ", ".join(f"{k} v{v}" for k, v in done.versions.items()) or "no corrections"
    click.echo(f"packet {packet_id} submitted by {reviewer} ({'primary' if done.primary else 'second review'}): "
               f"{', '.join(f'{v} {k}' for k, v in sorted(done.counts.items()))}; {written}")


@calibrate.command("export")
@click.option("--batch", "batch_id", required=True, help="Batch id.")
@click.option("--format", "fmt", type=click.Choice(["labelstudio"]), default="labelstudio", show_default=True)
@click.option("--out", "out_file", required=True, type=click.Path(dir_okay=False), help="Tasks JSON file to write.")
@click.option("--config-out", type=click.Path(dir_okay=False), default=None, help="Also write the labeling config (XML).")
@click.pass_context
def export_cmd(ctx: click.Context, batch_id: str, fmt: str, out_file: str, config_out: str | None) -> None:
    """Write a batch as Label Studio tasks: images by presigned URL, our annotations as predictions."""
    from skyscript.calibration.labelstudio import LABEL_CONFIG, export_tasks
    from skyscript.store import open_store

    settings = _settings(ctx)
    with _db(ctx) as db, db.session() as s:
        tasks = export_tasks(s, open_store(settings), batch_id, settings.presign_expiry_s)
    Path(out_file).write_text(json.dumps(tasks, indent=2))
    if config_out:
        Path(config_out).write_text(LABEL_CONFIG)
    click.echo(f"{len(tasks)} tasks written to {out_file}")


@calibrate.command("import")
@click.option("--batch", "batch_id", required=True, help="Batch id.")
@click.option("--reviewer", default=None, help="Reviewer name when the export has none (default: the Label Studio user).")
@click.argument("export_file", type=click.Path(exists=True, dir_okay=False))
@click.pass_context
def import_cmd(ctx: click.Context, batch_id: str, reviewer: str | None, export_file: str) -> None:
    """Read a Label Studio JSON export of a batch back as reviews and versioned corrections."""
    from skyscript.calibration.labelstudio import import_export

    try:
        data = json.loads(Path(export_file).read_text())
    except json.JSONDecodeError as exc:
        raise click.ClickException(f"{export_file} is not JSON: {exc.msg} (line {exc.lineno})") from None
    with _db(ctx) as db, db.session() as s:
        try:
            res = import_export(s, batch_id, data, default_reviewer=reviewer)
        except ValidationError as exc:
            raise click.ClickException(f"{export_file} is not a Label Studio JSON export: {exc.errors()[0]['msg']}") from None
    click.echo(f"imported {res['packets']} packets ({res['corrections']} with corrections, {res['skipped']} skipped) from {export_file}")
