"""The errors every layer may raise, in one module that imports nothing of the pipeline.

* :class:`BadInput`: the input itself is unusable (corrupt, empty, wrong format). The runner
  quarantines the episode with the reason; retrying would not help.
* :class:`StepError`: a step could not do its work for a reason that is not bad input (a missing
  model, a server that refuses every request); the step run fails and may be retried.
* :class:`FrameError`: one keyframe image cannot be used; it becomes a loss row, the episode goes on.
* :class:`MissingWeights` / :class:`WeightsDigestMismatch`: a weight file is absent or not the
  expected file. The message names the file and how to supply it.
"""

from __future__ import annotations


class BadInput(RuntimeError):
    """The input itself is unusable (corrupt, empty, wrong format): quarantine, don't retry."""

    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(f"{reason}: {detail}")
        self.reason = reason
        self.detail = detail


class StepError(RuntimeError):
    """A step could not do its work for a reason that is not bad input (the run should retry)."""


class FrameError(ValueError):
    """A keyframe image cannot be used; ``reason`` becomes the loss row's reason."""

    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(f"{reason}: {detail}")
        self.reason = reason
        self.detail = detail


class MissingWeights(FileNotFoundError):
    """A weight file is not where the configuration says it should be."""


class WeightsDigestMismatch(RuntimeError):
    """A weight file is there but is not the expected file."""


class ParamsError(ValueError):
    """A step parameter (``--param``, DAG params, settings) is unknown or out of range."""
