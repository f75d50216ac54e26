"""The dataset card, plots and manifest of an export.

* ``README.md``: a Hugging Face style dataset card (YAML header naming the files ``datasets``
  loads) with the statistics of the paper's Table 2 (dramas, episodes, clips/shots, keyframes,
  hours, resolution), shooting scripts and pairs, loss by reason, and the gate results;
* ``plots/*.png``: resolution and aspect-ratio histograms, shot lengths, shot sizes, camera
  movements, highlight curves (matplotlib, Agg backend);
* ``manifest.json``: dataset version, date, drama, settings digest, the models and prompt
  digests of the latest successful run of every step, and ``sha256`` and size of every file.

:func:`card_stats` returns the numbers the card prints, so a test can read the card back against
them.
"""

from __future__ import annotations

import json
from collections import Counter
from datetime import datetime, timezone
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any, Mapping

from sqlalchemy import func, select

from skyscript.context import StepContext
from skyscript.db import lineage
from skyscript.db.models import StepRun
from skyscript.export.folder import OWNERSHIP
from skyscript.ids import sha256_file, text_digest
from skyscript.quality.loss import loss_report

DATASET_VERSION = "1"


def _skyscript_version() -> str:
    try:
        return version("skyscript")
    except PackageNotFoundError:
        return "0+unknown"


def resolution_label(width: int | None, height: int | None) -> str:
    if not width or not height:
        return "-"
    return f"{min(width, height)}P"


def card_stats(ctx: StepContext, written: dict[str, int]) -> dict[str, Any]:
    with ctx.db.session() as s:
        eps = lineage.episodes_of(s, ctx.drama_id)
        shots = [sh for e in eps for sh in lineage.shots_of(s, e.id)]
        kfs = [k for e in eps for k in lineage.keyframes_of(s, e.id)]
        loss = loss_report(s, ctx.drama_id, ctx.settings.thresholds.max_loss_rate)
    ok = [e for e in eps if e.status != "quarantined"]
    res = Counter(f"{e.width}x{e.height}" for e in ok if e.width and e.height)
    common = res.most_common(1)[0][0] if res else None
    w, h = (int(x) for x in common.split("x")) if common else (None, None)
    return {
        "dramas": 1, "episodes": len(eps), "episodes_ok": len(ok), "clips": len(shots), "keyframes": len(kfs),
        "keyframes_valid": sum(1 for k in kfs if k.valid), "hours": round(sum(e.duration_s or 0 for e in ok) / 3600, 4),
        "resolution": resolution_label(w, h), "resolution_common": common,
        "shooting_scripts": written.get("shooting_scripts.jsonl", 0), "pairs": written.get("pairs.jsonl", 0),
        "loss": loss.as_dict(),
        "_plots": {
            "resolution": [f"{e.width}x{e.height}" for e in ok if e.width and e.height],
            "aspect": [round(e.width / e.height, 3) for e in ok if e.width and e.height],
            "shot_lengths": [round(sh.end_s - sh.start_s, 3) for sh in shots],
            "shot_sizes": [k.shot_type or "unknown" for k in kfs if k.valid],
            "movements": [sh.camera_movement or "unknown" for sh in shots],
            "highlight": [(sh.episode_id, sh.start_s, _highlight(sh.extra)) for sh in shots],
        },
    }


def _highlight(extra: Any) -> float | None:
    hl = (extra or {}).get("highlight") if isinstance(extra, dict) else None
    if isinstance(hl, dict):
        hl = hl.get("score")
    return float(hl) if isinstance(hl, (int, float)) else None


def write_plots(stats: dict[str, Any], folder: Path) -> list[str]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    folder.mkdir(parents=True, exist_ok=True)
    p = stats["_plots"]
    made: list[str] = []

    def bar(name: str, counts: Counter[str], title: str, xlabel: str) -> None:
        fig, ax = plt.subplots(figsize=(6, 3.5))
        keys = sorted(counts)
        ax.bar(keys, [counts[k] for k in keys], color="#4a7ab5")
        ax.set_title(title)
        ax.set_xlabel(xlabel)
        ax.set_ylabel("count")
        ax.tick_params(axis="x", labelrotation=30)
        fig.tight_layout()
        fig.savefig(folder / f"{name}.png", dpi=90)
        plt.close(fig)
        made.append(f"plots/{name}.png")

    def hist(name: str, values: list[float], title: str, xlabel: str) -> None:
        fig, ax = plt.subplots(figsize=(6, 3.5))
        ax.hist(values or [0], bins=min(30, max(5, len(values))), color="#4a7ab5")
        ax.set_title(title + ("" if values else " (no data)"))
        ax.set_xlabel(xlabel)
        ax.set_ylabel("count")
        fig.tight_layout()
        fig.savefig(folder / f"{name}.png", dpi=90)
        plt.close(fig)
        made.append(f"plots/{name}.png")

    bar("resolution", Counter(p["resolution"]), "Episode resolution", "width x height")
    hist("aspect_ratio", p["aspect"], "Aspect ratio", "width / height")
    hist("shot_lengths", p["shot_lengths"], "Shot length", "seconds")
    bar("shot_sizes", Counter(p["shot_sizes"]), "Shot size (valid keyframes)", "shot size")
    bar("camera_movements", Counter(p["movements"]), "Camera movement per shot", "movement")
    fig, ax = plt.subplots(figsize=(6, 3.5))
    curves: dict[str, list[tuple[float, float]]] = {}
    for ep, t, score in p["highlight"]:
        if score is not None:
            curves.setdefault(ep, []).append((t, score))
    for ep, pts in sorted(curves.items()):
        pts.sort()
        ax.plot([x for x, _ in pts], [y for _, y in pts], marker=".", label=ep.split("--", 1)[-1])
    ax.set_title("Highlight score per shot" + ("" if curves else " (highlight step has not run)"))
    ax.set_xlabel("episode time, seconds")
    ax.set_ylabel("highlight score")
    if curves:
        ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(folder / "highlight.png", dpi=90)
    plt.close(fig)
    made.append("plots/highlight.png")
    return made


def _models(ctx: StepContext) -> dict[str, dict[str, Any]]:
    with ctx.db.session() as s:
        latest = (select(func.max(StepRun.id)).where(StepRun.drama_id == ctx.drama_id, StepRun.status == "success")
                  .group_by(StepRun.step))
        runs = list(s.scalars(select(StepRun).where(StepRun.id.in_(latest)).order_by(StepRun.id)))
        return {r.step: {"step_version": r.step_version, "model_id": r.model_id, "weights_digest": r.weights_digest,
                         "prompt_digest": r.prompt_digest, "step_run_id": r.id} for r in runs}


def _card(stats: dict[str, Any], plots: list[str], files: list[str], drama: str, models: dict[str, Any]) -> str:
    loss = stats["loss"]
    configs = [("pairs", "pairs.jsonl"), ("shooting_scripts", "shooting_scripts.jsonl"), ("keyframes", "keyframes.parquet"),
               ("shots", "shots.parquet"), ("episodes", "episodes.parquet"), ("keyinfo", "keyinfo.parquet"),
               ("losses", "losses.parquet")]
    head = ["---", "pretty_name: SkyScript drama " + drama, "license: other", "task_categories:", "- text-generation",
            "configs:"]
    for name, f in configs:
        if f in files:
            head += [f"- config_name: {name}", f"  data_files: {f}"]
    head += ["---", ""]
    body = [
        f"# SkyScript dataset: drama `{drama}`", "",
        "Keyframes with key information, refined shooting scripts (Table 1 of SkyScript-100M) and "
        "(script, shooting script) pairs, produced by the SkyScript pipeline. Every record traces back to "
        "its source frame; every dropped item has a reason in `losses.parquet`.", "",
        "## Statistics (the columns of SkyScript-100M's Table 2)", "",
        "| Dramas | Episodes | Clips (shots) | Keyframes | Dur (h) | Res | Shooting scripts | Pairs |",
        "|---|---|---|---|---|---|---|---|",
        f"| {stats['dramas']} | {stats['episodes']} | {stats['clips']} | {stats['keyframes']} | {stats['hours']} | "
        f"{stats['resolution']} | {stats['shooting_scripts']} | {stats['pairs']} |", "",
        f"Episodes usable: {stats['episodes_ok']} of {stats['episodes']}; valid keyframes: {stats['keyframes_valid']} "
        f"of {stats['keyframes']}; most common frame size {stats['resolution_common'] or '-'}.", "",
        "## Loss by reason", "", "| reason | rows |", "|---|---|",
    ]
    body += [f"| {r} | {n} |" for r, n in sorted(loss["by_reason"].items())] or ["| (none) | 0 |"]
    body += [
        "", "## Gates", "", "| gate | threshold | value | result |", "|---|---|---|---|",
        f"| loss rate | <= {loss['max_loss_rate']:.0%} | {loss['loss_rate']:.2%} | {'pass' if loss['passed'] else 'FAIL'} |",
        "| calibrated accuracy | >= 90% (Wilson 95% lower bound) | not recorded for this export | - |", "",
        "## Plots", "",
    ]
    body += [f"![{Path(p).stem}]({p})" for p in plots] or ["(no plots: install the `dataset` extra for matplotlib)"]
    body += ["", "## Files", ""]
    groups = Counter(f.split("/", 1)[0] + "/" if "/" in f else f for f in files)
    body += [f"- `{g}`" + (f" ({n} files)" if g.endswith("/") else "") for g, n in sorted(groups.items())]
    body += ["", "`manifest.json` lists every file with its sha256."]
    body += ["", "## Models and prompts", "", "| step | model | prompt digest |", "|---|---|---|"]
    body += [f"| {k} | {v['model_id'] or '-'} | {v['prompt_digest'] or '-'} |" for k, v in models.items()]
    body += ["", "## Loading", "", "```python", "from datasets import load_dataset",
             'pairs = load_dataset("json", data_files="pairs.jsonl", split="train")',
             'keyframes = load_dataset("parquet", data_files="keyframes.parquet", split="train")', "```", "",
             "`shooting_script.schema.json` is the JSON Schema of each line of `shooting_scripts.jsonl`; every "
             "field is `{value, source, by}` or `{value: null, missing: <reason>}`.", ""]
    return "\n".join(head + body)


def write_card(ctx: StepContext, out: Path, written: dict[str, int], kept: Mapping[str, Path] | None = None) -> dict[str, int]:
    """README.md, plots and manifest.json (written last: it digests every other file). ``out``
    holds the files this export wrote, ``kept`` the files of it already in place elsewhere (a frame
    an earlier export copied); the manifest lists exactly these."""
    stats = card_stats(ctx, written)
    try:
        plots = write_plots(stats, out / "plots")
    except ImportError:
        plots = []  # matplotlib is in the dataset extra; the card says so

    models = _models(ctx)
    where = {p.relative_to(out).as_posix(): p for p in out.rglob("*") if p.is_file()}
    where.update(kept or {})
    files = sorted(f for f in where if f not in ("manifest.json", "README.md"))
    (out / "README.md").write_text(_card(stats, plots, files, ctx.drama_id, models), encoding="utf-8")
    files.append("README.md")
    where["README.md"] = out / "README.md"
    settings_json = json.dumps(ctx.settings.public_dict(), sort_keys=True, default=str)
    manifest = {
        "drama_id": ctx.drama_id, "dataset_version": DATASET_VERSION, "skyscript_version": _skyscript_version(),
        "date": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "settings_digest": text_digest(settings_json),
        "models": models,
        "statistics": {k: v for k, v in stats.items() if not k.startswith("_")},
        "rows": written,
        "ownership": OWNERSHIP,  # ``files`` is exactly what this export wrote: a re-export replaces these
        "files": {f: {"sha256": sha256_file(where[f]), "bytes": where[f].stat().st_size} for f in sorted(files)},
    }
    (out / "manifest.json").write_text(json.dumps(manifest, indent=2, default=str), encoding="utf-8")
    return {"README.md": 1, "plots/": len(plots), "manifest.json": len(files)}
