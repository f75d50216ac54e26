"""Scenes: group each episode's shots into scenes and say where and when each one happens.

A drama step (it runs after the episode steps): for every episode it reads the shots, the valid
keyframes' unmasked frames (background histograms, brightness, sky) and their key information,
groups the shots (:mod:`skyscript.scripts.scenes`: episode start, fades, background change with a
look-back so shot/reverse-shot stays one scene) and writes :class:`~skyscript.schemas.script.SceneInfo`
into ``shot.extra["scene"]`` of every shot (other keys of ``shot.extra`` are kept).

With a VLM configured (``SKYSCRIPT_VLM__URL``, ``SKYSCRIPT_SCENES__USE_VLM``) each shot's masked
keyframe is sent with our scene prompt; the answers (INT/EXT, location, DAY/NIGHT, description)
also break scenes when location or time changes, and the scene takes the majority answer
(``source="vlm"``). Without one, the offline estimates are used and marked ``estimate``/``rule``,
and what cannot be told (a location no key object names) is ``missing`` with the reason.
"""

from __future__ import annotations

from collections import Counter
from typing import Any, Mapping

from skyscript.config import ScenesSettings, Settings
from skyscript.errors import FrameError
from skyscript.ids import text_digest
from skyscript.losses import LossRecord
from skyscript.schemas.script import SceneInfo, Valued, parse_script_id, script_id
from skyscript.steps.base import CPU_LIGHT, ModelInfo, RowUpdate, Step, StepOutput
from skyscript.steps.view import DramaView, EpisodeView, ShotRow

SCENE_SYSTEM = (
    "You are a script supervisor logging a short drama. You look at one frame of a shot and write "
    "the slug line facts a screenplay needs. Faces and on-screen text are pixelated on purpose."
)
SCENE_USER = (
    "Answer with one JSON object and nothing else, with these keys:\n"
    '  "int_ext": "INT" if the frame is indoors, "EXT" if outdoors;\n'
    '  "location": a short place phrase in capitals as in a slug line (e.g. "HOSPITAL CORRIDOR");\n'
    '  "time_of_day": "DAY" or "NIGHT";\n'
    '  "description": one or two sentences describing the setting, not the people\'s identities.'
)
PROMPT_DIGEST = text_digest(SCENE_SYSTEM + "\n" + SCENE_USER)


class ScenesStep(Step[ScenesSettings]):
    name = "scenes"
    version = "1"
    scope = "drama"
    resources = CPU_LIGHT
    reads = ("shot", "keyframe.private_key", "keyframe.public_key", "private:frames", "public:frames", "keyinfo")
    writes = ("shot.extra",)
    params_model = ScenesSettings
    settings_field = "scenes"
    description = "shots grouped into scenes (background, fades, VLM where configured); INT/EXT, place, DAY/NIGHT"

    def setup(self, settings: Settings) -> None:
        self.settings = settings
        self._vlm: Any = None

    def teardown(self) -> None:
        if self._vlm is not None:
            self._vlm.close()
            self._vlm = None

    def _client(self, params: ScenesSettings) -> Any:
        if not (params.use_vlm and self.settings.vlm.url):
            return None
        if self._vlm is None:
            from skyscript.keyinfo.vlm_client import OpenAIChatClient

            self._vlm = OpenAIChatClient(self.settings.vlm)
        return self._vlm

    def run(self, view: DramaView, params: ScenesSettings) -> StepOutput:  # type: ignore[override]
        out = StepOutput()
        vlm = self._client(params)
        counts: Counter[str] = Counter()
        for ep in view.episodes:
            if ep.status == "quarantined":
                continue
            ev = view.episode(ep.id)
            if not ev.shots:
                continue
            self._episode(ev, params, vlm, out, counts)
        out.counts = dict(counts)
        out.model = ModelInfo(
            model_id=f"vlm={self.settings.vlm.model}" if vlm is not None else "offline: border histograms + brightness + sky",
            prompt_digest=PROMPT_DIGEST if vlm is not None else None,
        )
        return out

    def _episode(self, ev: EpisodeView, params: ScenesSettings, vlm: Any, out: StepOutput, counts: Counter[str]) -> None:
        from skyscript.scripts import scenes as rules

        looks = []
        by_shot: dict[int, list[Any]] = {}
        for kf in ev.valid_keyframes:
            try:
                img = ev.media.frame(kf.private_key)
            except FrameError as exc:
                out.losses.append(LossRecord("keyframe", kf.id, exc.reason, exc.detail, episode_id=ev.id))
                continue
            by_shot.setdefault(kf.shot_index, []).append(rules.look_at(img))
        answers = self._ask(ev, params, vlm, counts) if vlm is not None else {}
        for sh in ev.shots:
            looks.append(rules.ShotLook(sh.shot_index, sh.transition_in, by_shot.get(sh.shot_index, []), answers.get(sh.shot_index)))
        spans = rules.group(looks, threshold=params.background_threshold, lookback=params.lookback)
        for n, span in enumerate(spans, start=1):
            shots = [ev.shots[i] for i in span.shots]
            info = self._scene_info(ev, n, shots, [looks[i] for i in span.shots], span.break_reason, params)
            for sh in shots:
                extra = dict(sh.extra or {})
                extra["scene"] = info.model_dump(mode="json")
                out.updates.append(RowUpdate("shot", sh.id, {"extra": extra}))
            counts["scenes"] += 1
            counts[f"break_{span.break_reason}"] += 1
        counts["shots"] += len(ev.shots)

    def _ask(self, ev: EpisodeView, params: ScenesSettings, vlm: Any, counts: Counter[str]) -> dict[int, Mapping[str, Any]]:
        """One VLM request per shot with its first masked keyframe; failures fall back offline."""
        from skyscript.keyinfo.repair import repair_load
        from skyscript.keyinfo.vlm_client import ChatRequest, VlmError
        from skyscript.store import Area

        reqs: list[tuple[int, Any]] = []
        for sh in ev.shots:
            kf = next((k for k in ev.valid_keyframes if k.shot_index == sh.shot_index and k.public_key), None)
            if kf is None:
                continue
            try:
                img = ev.media.frame_bytes(kf.public_key, Area.public)
            except FrameError:
                continue
            reqs.append((sh.shot_index, ChatRequest(SCENE_SYSTEM, SCENE_USER, images=[img], max_tokens=300, temperature=0.0)))
        got: dict[int, Mapping[str, Any]] = {}
        for (idx, _), ans in zip(reqs, vlm.chat_many([r for _, r in reqs])):
            if isinstance(ans, VlmError):
                counts["vlm_failed"] += 1
                ev.log.warning("scene answer for shot %d failed: %s", idx, ans)
                continue
            try:
                obj = repair_load(ans.text)
            except ValueError:
                counts["vlm_unparseable"] += 1
                continue
            if isinstance(obj, dict):
                got[idx] = {k: obj.get(k) for k in ("int_ext", "location", "time_of_day", "description")}
                counts["vlm_answers"] += 1
        return got

    def _scene_info(
        self, ev: EpisodeView, n: int, shots: list[ShotRow], looks: list[Any], reason: str, params: ScenesSettings,
    ) -> SceneInfo:
        from skyscript.scripts import scenes as rules

        frame_looks = [lk for sl in looks for lk in sl.looks]
        idx = {sh.shot_index for sh in shots}
        infos = [ev.payload(kf.id, "keyinfo") for kf in ev.valid_keyframes if kf.shot_index in idx]
        infos = [i for i in infos if i is not None]
        objects = {o.type for i in infos for o in i.objects}
        people: list[dict[str, Any]] = []
        if infos:
            richest = max(infos, key=lambda i: len(i.people))
            people = [{"age": p.age.value if p.age else None, "gender": p.gender.value if p.gender else None}
                      for p in richest.people]
        answers = [sl.vlm for sl in looks if sl.vlm]

        def vote(key: str, allowed: tuple[str, ...] | None = None) -> Valued | None:
            vals = [" ".join(str(a.get(key) or "").upper().split()) for a in answers]
            vals = [v.rstrip(".") for v in vals if v and (allowed is None or v.rstrip(".") in allowed)]
            if not vals:
                return None
            word, k = Counter(vals).most_common(1)[0]
            return Valued.of(word, "vlm", f"vlm:{self.settings.vlm.model} ({k}/{len(answers)} shots)")

        int_ext = vote("int_ext", ("INT", "EXT")) or rules.estimate_int_ext(frame_looks, params.sky_share, objects)
        location = vote("location") or rules.estimate_location(objects, bool(infos))
        time = vote("time_of_day", ("DAY", "NIGHT")) or rules.estimate_time(frame_looks, params.night_value)
        desc_answers = [str(a.get("description")).strip() for a in answers if a.get("description")]
        description = (Valued.of(desc_answers[0], "vlm", f"vlm:{self.settings.vlm.model}") if desc_answers
                       else rules.describe(people, sorted(objects), bool(infos), len(shots)))
        return SceneInfo(
            scene_index=n, script_id=script_id(ev.id, n), first_shot=shots[0].shot_index, last_shot=shots[-1].shot_index,
            int_ext=int_ext, location=location, time_of_day=time, description=description, break_reason=reason,
        )


def scene_of(shot_extra: Mapping[str, Any] | None) -> SceneInfo | None:
    """The scene a shot belongs to (``shot.extra["scene"]``), or None before the scenes step ran."""
    if not shot_extra or "scene" not in shot_extra:
        return None
    return SceneInfo.model_validate(shot_extra["scene"])


__all__ = ["ScenesStep", "script_id", "parse_script_id", "scene_of", "PROMPT_DIGEST"]
