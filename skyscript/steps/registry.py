"""The pipeline's steps in data-flow order (DESIGN.md).

This module is light on purpose: DAG files import it at parse time, so it names each step's
class by import path and carries its scope and resource profile, and imports nothing heavy.
A new step joins the pipeline by adding a :class:`StepSpec` here; the DAGs, the local runner
and the CLI all read this list.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass

from skyscript.steps.base import Resources, Scope, Step

CPU_LIGHT = Resources(cpu=0.5, memory_gi=1.0, image="skyscript-cpu")
CPU_VIDEO = Resources(cpu=2.0, memory_gi=4.0, image="skyscript-cpu")
GPU_MODEL = Resources(cpu=4.0, memory_gi=16.0, gpu=1, image="skyscript-gpu")


@dataclass(frozen=True)
class StepSpec:
    name: str
    target: str  # "module:Class"
    scope: Scope
    resources: Resources
    description: str

    def load(self) -> Step:
        module, _, cls = self.target.partition(":")
        step_cls = getattr(importlib.import_module(module), cls)
        if step_cls.name != self.name:
            raise RuntimeError(f"{self.target} is named {step_cls.name!r}, registry says {self.name!r}")
        return step_cls()


PIPELINE: tuple[StepSpec, ...] = (
    StepSpec("ingest", "skyscript.steps.ingest:IngestStep", "drama", CPU_LIGHT,
             "register source files, digest them, copy raw media to the private area"),
    StepSpec("probe", "skyscript.steps.probe:ProbeStep", "episode", CPU_LIGHT,
             "read fps, frame count, size, duration and codec; quarantine unreadable files"),
    StepSpec("scan", "skyscript.steps.scan:ScanStep", "episode", CPU_VIDEO,
             "one decode pass: shots and transitions, keyframes, frame quality, camera movement"),
    StepSpec("text", "skyscript.steps.text:TextStep", "episode", CPU_VIDEO,
             "OCR keyframes: text boxes, text area ratio, subtitles, captions to mask"),
    StepSpec("privacy", "skyscript.steps.privacy:PrivacyStep", "episode", CPU_VIDEO,
             "detect faces; publish keyframes with faces and caption/name text mosaicked"),
    StepSpec("shot_size", "skyscript.steps.shot_size:ShotSizeStep", "episode", CPU_LIGHT,
             "shot size (wide/full/medium/close-up/extreme close-up) from the main face or person"),
    StepSpec("keyinfo", "skyscript.steps.keyinfo:KeyInfoStep", "episode", GPU_MODEL,
             "objects and people per keyframe: VLM + JSON repair + detector calibration + face attributes "
             "(offline face models when no VLM is configured)"),
)


def get(name: str) -> StepSpec:
    for spec in PIPELINE:
        if spec.name == name:
            return spec
    raise KeyError(f"unknown step {name!r}; known steps: {', '.join(s.name for s in PIPELINE)}")


def episode_steps() -> list[StepSpec]:
    return [s for s in PIPELINE if s.scope == "episode"]


def names() -> list[str]:
    return [s.name for s in PIPELINE]
