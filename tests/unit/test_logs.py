"""The log formatter: one record, one line, whatever a message's arguments hold."""

from __future__ import annotations

import io
import logging

from skyscript.logs import LOG_FORMAT, Defaults, OneLineFormatter


def test_a_name_with_line_breaks_stays_in_its_record() -> None:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.addFilter(Defaults())
    handler.setFormatter(OneLineFormatter(LOG_FORMAT, "%H:%M:%S"))
    log = logging.getLogger("skyscript.test-logs")
    log.handlers[:] = [handler]
    log.propagate = False
    try:
        adapter = logging.LoggerAdapter(log, {"drama": "d", "episode": "d--ep-01-abcd", "step": "probe"})
        adapter.warning("bad input: %s is 0 bytes", "ep\n01\r.mp4")
        log.warning("no ids on this one: %s", "x\u2028y")
    finally:
        log.handlers[:] = []
    lines = stream.getvalue().splitlines()
    assert len(lines) == 2
    assert lines[0].endswith("WARNING [d/d--ep-01-abcd/probe] bad input: ep\\n01\\r.mp4 is 0 bytes")
    assert lines[1].endswith("WARNING [-/-/-] no ids on this one: x\\u2028y")
