"""Two small steps written the way a new step joins the pipeline: one module, one registry line
(``SKYSCRIPT_EXTRA_STEPS`` or ``Pipeline(STEPS + (...,))``). Used by the contract tests.

* ``brightness`` (episode scope) owns the ``brightness`` kind: the mean grey level of each
  keyframe, with a validated payload (0-255).
* ``drama_brightness`` (drama scope) reads ``brightness`` from every episode and sets the
  drama's title to the mean, so the test can see that it ran after the episode steps.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from skyscript.steps.base import AnnotationRecord, Kind, ModelInfo, RowSet, Step, StepOutput
from skyscript.steps.view import DramaView, EpisodeView


class BrightnessPayload(BaseModel):
    model_config = ConfigDict(extra="forbid")

    mean: float = Field(ge=0, le=255)


class BrightnessParams(BaseModel):
    model_config = ConfigDict(extra="forbid")

    scale: float = Field(1.0, description="multiplies the measured mean (a test knob: 10 breaks the payload's range)")


BRIGHTNESS = Kind("brightness", BrightnessPayload, version="1", description="mean grey level of the keyframe")


class BrightnessStep(Step[BrightnessParams]):
    name = "brightness"
    version = "1"
    reads = ("keyframe.private_key", "private:frames")
    writes = ("brightness",)
    owns = (BRIGHTNESS,)
    params_model = BrightnessParams
    description = "mean grey level per keyframe (an example step)"
    setups = 0  # counted by the tests

    def setup(self, settings: object) -> None:
        type(self).setups += 1

    def run(self, view: EpisodeView, params: BrightnessParams) -> StepOutput:  # type: ignore[override]
        out = StepOutput(model=ModelInfo(model_id="numpy mean"))
        for kf, img in view.media.readable(view.keyframes, out.losses, view.log):
            payload = BrightnessPayload.model_construct(mean=round(float(img.mean()) * params.scale, 3))
            out.annotations.append(AnnotationRecord(kf.id, BRIGHTNESS.name, payload, "numpy"))
        out.counts = {"measured": len(out.annotations), "lost": len(out.losses)}
        return out


class DramaBrightnessStep(Step[BaseModel]):
    name = "drama_brightness"
    version = "1"
    scope = "drama"
    reads = ("brightness",)
    writes = ("drama.title",)
    description = "the drama's mean keyframe brightness, as its title (an example drama step)"

    def run(self, view: DramaView, params: BaseModel) -> StepOutput:  # type: ignore[override]
        means = []
        for ep in view.episodes:
            ev = view.episode(ep.id)
            means += [ev.payload(kf.id, "brightness").mean for kf in ev.keyframes if ev.payload(kf.id, "brightness")]
        title = f"brightness {sum(means) / len(means):.1f}" if means else "brightness unknown"
        return StepOutput(rows=[RowSet("drama", [{"id": view.drama_id, "title": title}])],
                          counts={"episodes": len(view.episodes), "keyframes": len(means)})
