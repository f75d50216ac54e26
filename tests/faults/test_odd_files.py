"""One `skyscript run` over a folder of odd inputs (:mod:`fixtures.odd_files`): every input ends
as exactly what it should: a finished episode with an id of its own, an episode quarantined by
the step that found it bad with that reason, a source loss row, a duplicate skipped, or nothing
(not a video by its name). The run carries on past each of them and says so in its summary.

As root, the run goes without root's file-permission override (``setpriv``), so the mode-000
file is as unreadable as it is for an operator; where that cannot be arranged, it is left out."""

from __future__ import annotations

import json
import os
import re
import shutil
import sqlite3
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest
from fixtures.drama_rows import cli_env
from fixtures.odd_files import LONG_NAME, odd_folder

from skyscript.steps import registry

DRAMA = "odd"
PIPE = registry.Pipeline.default({})
OK = ("ok",)

# input -> (outcome, step, reason) and a piece of the recorded detail
EXPECTED: dict[str, tuple[tuple[str, ...], str]] = {
    "plain.avi": (OK, ""),
    "第一集.mp4": (OK, ""),
    "第二集.mp4": (OK, ""),  # used to share one id with 第一集
    "clash.mp4": (OK, ""),
    "clash.mkv": (OK, ""),  # differs from clash.mp4 by its extension only
    "line\nbreak.avi": (OK, ""),
    "vfr.mkv": (OK, ""),
    "cfr.mkv": (OK, ""),  # Matroska: no frame count in the header
    "UPPER.AVI": (OK, ""),
    ".hidden.avi": (OK, ""),
    "season.mp4/inside.avi": (OK, ""),  # the folder named like a video is walked, not read
    LONG_NAME: (OK, ""),
    "garbage_tail.avi": (OK, ""),  # every frame decodes before the garbage
    "dup-a.avi": (OK, ""),
    "dup-b.avi": (("duplicate", "dup-a.avi"), ""),
    "empty.mp4": (("quarantined", "probe", "empty_file"), "empty.mp4 is 0 bytes"),
    "cut_index_last.mp4": (("quarantined", "probe", "not_a_video"), "cut_index_last.mp4: not a readable video container"),
    "cut_index_first.mp4": (("quarantined", "scan", "truncated"), "frames decode, the header promises 72"),
    "cut.avi": (("quarantined", "scan", "truncated"), "frames decode, the header promises 24"),
    "text.mp4": (("quarantined", "probe", "not_a_video"), "text.mp4: not a readable video container"),
    "random.mp4": (("quarantined", "probe", "not_a_video"), "random.mp4: not a readable video container"),
    "photo.mp4": (("quarantined", "probe", "not_a_video"), "photo.mp4 is a still image (jpeg_pipe), not a video"),
    "one_frame.avi": (("quarantined", "probe", "too_short"), "one_frame.avi has 1 frame(s)"),
    "tiny.avi": (("quarantined", "probe", "too_small"), "tiny.avi is 48x32, under 64 px on its shorter side"),
    "audio_only.mp4": (("quarantined", "probe", "not_a_video"), "audio_only.mp4 has no video stream"),
    "zero_duration.mp4": (("quarantined", "probe", "not_a_video"), "zero_duration.mp4 has no video stream"),
    "junk_head.mp4": (("quarantined", "probe", "not_a_video"), "junk_head.mp4: not a readable video container"),
    "bad_codec.avi": (("quarantined", "probe", "unreadable_codec"), "bad_codec.avi: cannot decode unknown"),
    "dangling.mp4": (("source", "dangling_link"), "dangling.mp4 is a symbolic link to "),
    "locked.mkv": (("source", "source_unreachable"), "locked.mkv cannot be read: Permission denied"),
    "notes.txt": (("ignored",), ""),
}


def _unprivileged(folder: Path) -> list[str] | None:
    """The command prefix under which a mode-000 file cannot be read: none needed when not root,
    ``setpriv`` without root's read overrides as root; None when neither works."""
    if os.geteuid() != 0:
        return []
    setpriv = shutil.which("setpriv")
    if setpriv is None:
        return None
    prefix = [setpriv, "--bounding-set", "-dac_override,-dac_read_search", "--"]
    probe = folder / "probe"
    probe.write_bytes(b"x")
    probe.chmod(0)
    try:
        res = subprocess.run([*prefix, sys.executable, "-c", f"open({str(probe)!r}).read()"], capture_output=True, text=True)
    finally:
        probe.unlink()
    return prefix if res.returncode != 0 and "PermissionError" in res.stderr else None


def test_every_odd_input_gets_its_recorded_outcome(tmp_path: Path) -> None:
    prefix = _unprivileged(tmp_path)
    root = tmp_path / "delivery"
    inputs = odd_folder(root, locked=prefix is not None)
    expected = {k: v for k, v in EXPECTED.items() if k in inputs}
    assert sorted(expected) == sorted(inputs)  # every input has its expectation
    home = tmp_path / "home"
    res = subprocess.run([*(prefix or []), sys.executable, "-m", "skyscript.cli", "run", str(root), "--drama", DRAMA,
                          "--no-progress"], env=cli_env(home), capture_output=True, text=True, timeout=600)
    out, err = res.stdout, res.stderr

    with sqlite3.connect(home / "lineage.db") as db:
        episodes = db.execute("select source_name, id, status, error from episode where drama_id = ?", (DRAMA,)).fetchall()
        losses = db.execute("select step, item_kind, item_id, reason, detail from loss where drama_id = ?", (DRAMA,)).fetchall()
        runs = db.execute("select step, episode_id, status from step_run order by id").fetchall()
        [ingest] = db.execute("select counts from step_run where step = 'ingest'").fetchall()
    by_base = {Path(name).name: name for name in inputs}
    id_of = {by_base[src]: ep for src, ep, _, _ in episodes}
    name_of = {ep: name for name, ep in id_of.items()}

    # what each input became
    observed: dict[str, tuple[str, ...]] = {name: ("ignored",) for name in inputs}
    details: dict[str, str] = {name: "" for name in inputs}
    loss_of = {item: (step, reason, detail) for step, kind, item, reason, detail in losses if kind == "episode"}
    for src, ep, status, error in episodes:
        name = by_base[src]
        if status == "ok":
            observed[name] = OK
        else:
            step, reason, detail = loss_of[ep]
            observed[name] = ("quarantined", step, reason)
            details[name] = detail
            assert (status, error) == ("quarantined", f"{reason}: {detail}")
    for step, kind, item, reason, detail in losses:
        if kind == "source":
            name = str(Path(item).relative_to(root))
            observed[name] = ("source", reason)
            details[name] = detail
    for name, twin in re.findall(r"\(file (.+?)\) has the same content as episode (\S+), skipped", err):
        observed[by_base[name]] = ("duplicate", name_of.get(twin, twin))

    wanted = {name: outcome for name, (outcome, _) in expected.items()}
    tally = Counter(outcome[0] for outcome in observed.values())
    print(f"\nFAULT-TABLE | odd-file corpus, {len(inputs)} inputs in one folder | runs 1 | ok {tally['ok']} | "
          f"quarantined {tally['quarantined']} | source losses {tally['source']} | duplicate {tally['duplicate']} | "
          f"ignored {tally['ignored']} | unexpected {sum(observed[n] != w for n, w in wanted.items())}"
          f"{'' if 'locked.mkv' in inputs else ' (no unreadable file: root cannot drop its override here)'}")
    assert observed == wanted, err[-3000:]
    for name, (_, piece) in expected.items():
        assert piece in details[name], (name, details[name])
    # no loss beyond those, and each quarantined episode has exactly one
    assert len(losses) == sum(1 for o in wanted.values() if o[0] in ("quarantined", "source")), losses

    # every good episode has an id of its own and went through every step
    assert len(set(id_of.values())) == len(id_of)
    assert all(re.fullmatch(rf"{DRAMA}--[a-z0-9]+(-[a-z0-9]+)*", ep) for ep in id_of.values()), id_of
    assert id_of["clash.mkv"] == f"{DRAMA}--clash" and id_of["clash.mp4"].startswith(f"{DRAMA}--clash-")
    assert id_of["第一集.mp4"] != id_of["第二集.mp4"]
    episode_steps = [s.name for s in PIPE.episode_steps()]
    for name, outcome in wanted.items():
        if name not in id_of:
            continue
        ep = id_of[name]
        done = [(step, status) for step, e, status in runs if e == ep]
        if outcome == OK:
            assert done == [(s, "success") for s in episode_steps], (name, done)
        else:  # the steps before the one that found it bad, then that one; nothing after
            at = episode_steps.index(outcome[1])
            assert done == [(s, "success") for s in episode_steps[:at]] + [(outcome[1], "failed")], (name, done)
    drama_steps = [s.name for s in PIPE.specs if s.scope == "drama"]
    assert [(s, st) for s, e, st in runs if e is None] == [(s, "success") for s in drama_steps]
    counts = json.loads(ingest[0])
    n_ok = sum(1 for o in wanted.values() if o == OK)
    n_quarantined = sum(1 for o in wanted.values() if o[0] == "quarantined")
    assert (counts["new"], counts["empty"], counts["duplicate"], counts["problems"], counts["unreachable"]) == (
        n_ok + n_quarantined - 1, 1, 1, 1, int("locked.mkv" in inputs))

    # the run went on past every one of them and says what happened, one line each
    assert res.returncode == 1, out + err[-3000:]  # sources unreadable, the loss gate above its limit
    assert "Traceback" not in err, err[-3000:]
    assert not any(line.startswith("break.avi") for line in (out + err).splitlines())  # the name's newline is escaped
    lines = out.splitlines()
    assert lines[1].startswith(f"  episodes: {n_ok + n_quarantined} ({n_quarantined} quarantined)")
    quarantined = sorted(ln.split(": ")[0:2] for ln in lines if ln.startswith("  quarantined "))
    assert quarantined == sorted([f"  quarantined {id_of[n]}", o[2]] for n, o in wanted.items() if o[0] == "quarantined")
    unreachable = [ln for ln in lines if ln.startswith("  UNREACHABLE ")]
    assert len(unreachable) == sum(1 for o in wanted.values() if o[0] == "source"), unreachable
    assert any(ln.startswith("  loss gate: FAIL") for ln in lines) and not any("FAILED" in ln for ln in lines), out
