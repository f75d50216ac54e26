"""File names are data, not log lines: a newline or carriage return in a source's name never
splits a record of `skyscript run` (its log on stderr, in the workers too, and its summary)."""

from __future__ import annotations

import os
import re
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from fixtures import videos as V

pytestmark = pytest.mark.integration

REPO = Path(__file__).resolve().parents[3]
RECORD = re.compile(r"^\d\d:\d\d:\d\d (DEBUG|INFO|WARNING|ERROR|CRITICAL) ")


def test_names_with_line_breaks_stay_inside_their_records(tmp_path: Path) -> None:
    folder = tmp_path / "in"
    folder.mkdir()
    V.cuts_clip(folder / "ep\n01.avi")  # a good episode
    (folder / "ep\r02.mp4").write_bytes(b"")  # quarantined: empty
    (folder / "bad\n03.mp4").write_text("not a video\n" * 5)  # quarantined: not a video
    gone = tmp_path / "gone\r\nfolder"  # an unreachable source named on the command line
    env = {**os.environ, "SKYSCRIPT_HOME": str(tmp_path / "home"), "PYTHONPATH": str(REPO)}
    res = subprocess.run(
        [sys.executable, "-m", "skyscript.cli", "-v", "run", str(folder), str(gone), "--drama", "nl", "--no-progress",
         "--jobs", "2"],
        capture_output=True, text=True, env=env, timeout=600,
    )
    assert res.returncode == 1, res.stderr[-3000:]  # the quarantines and the missing source fail the gate
    out_lines, err_lines = res.stdout.splitlines(), res.stderr.splitlines()
    tails = ("01.avi", "02.mp4", "03.mp4", "folder")
    for line in out_lines + err_lines:
        assert not line.startswith(tails), f"a name split a line: {line!r}"
    assert "\r" not in res.stdout + res.stderr
    # every log line that names one of the files is a whole record: time, level, ids, message
    named = [x for x in err_lines if any(t in x for t in tails)]
    assert named and all(RECORD.match(x) for x in named), named
    ingested = [x for x in err_lines if "ingested from file" in x]
    assert len(ingested) == 2 and all("[nl/-/ingest] nl--" in x for x in ingested), ingested
    assert any("ep\\n01.avi" in x for x in ingested)
    # the summary: one line per quarantined episode, with its reason and the escaped name
    assert out_lines[0].startswith("drama nl") and all(x.startswith("  ") for x in out_lines[1:]), out_lines
    quarantined = sorted(re.sub(r"nl--[a-z0-9-]+", "ID", x.strip()) for x in out_lines if x.startswith("  quarantined "))
    assert quarantined == [
        "quarantined ID: empty_file: ep\\r02.mp4 is 0 bytes",
        "quarantined ID: not_a_video: bad\\n03.mp4: not a readable video container (InvalidDataError)",
    ]
    [unreachable] = [x for x in out_lines if "UNREACHABLE" in x]
    assert unreachable.endswith("gone\\r\\nfolder: no such file or folder")
    # the data keeps the real names; the good episode went through every step
    with sqlite3.connect(tmp_path / "home" / "lineage.db") as db:
        rows = dict(db.execute("select source_name, status from episode").fetchall())
    assert rows == {"ep\n01.avi": "ok", "ep\r02.mp4": "quarantined", "bad\n03.mp4": "quarantined"}
    assert "FAILED" not in res.stdout
