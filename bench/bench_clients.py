"""Do the model-server clients keep the server busy? The real VLM and LLM client paths against a
loopback stand-in server that simulates per-request latency, all measured in one run.

    python bench/bench_clients.py [--requests M] [--serial-requests M] [--latency S] [--capacity C]
                                  [--levels 1,4,16] [--episode-requests E] [--max-tokens T]
                                  [--paths vlm,llm] [--url URL]

The server is the OpenAI-compatible stand-in of the tests (``tests/unit/keyinfo/openai_standin.py``,
a real threaded HTTP server on 127.0.0.1) answering every request after ``--latency`` seconds, in
two modes:

* **batching**: up to ``--capacity`` requests generate at once at the same latency, the rest queue
  (lmdeploy or vLLM with a full batch); the ideal is capacity / latency requests per second;
* **serial**: one at a time (``transformers serve`` without continuous batching); the ideal is
  1 / latency, and more in flight only queues.

Two client paths, each with its client built from the settings (``SKYSCRIPT_VLM__*`` /
``SKYSCRIPT_LLM__*``, the concurrency and adaptive switch set per run):

* **vlm**: the key-information step's request path, :class:`skyscript.keyinfo.extract.VlmExtractor`
  over episodes of ``--episode-requests`` requests (4 keyframes of one shot each; default 32, the
  paper's 125 keyframes an episode), one client for all episodes as in a worker process; the
  answers are valid key-information JSON, so the repair ladder and calibration run as in a step;
* **llm**: the script-pairs step's path: ``client.chat`` through
  :func:`skyscript.models.chat.pool.completed` on the endpoint's concurrency.

For each server, path, concurrency (``--levels``) and adaptive on/off it prints the concurrency
the server observed (time-averaged and peak, queued requests included), requests per second, the
client's per-attempt latency (p50, p95), and the ratio to the ideal. The last line is the default
setting (adaptive, the highest level) on the batching server, the slower of the two paths:
``achieved concurrency X of Y; N req/s``.

``--url`` runs the same paths against a real server (lmdeploy's ``api_server`` on a GPU machine)
instead of the stand-ins; the concurrency is then seen from the client (Little's law: the
attempts' total time over the wall time; the peak is the client's) and there is no ideal to
compare with: lmdeploy's ``profile_restful_api`` on the same server gives it (docs/capacity.md).
"""

from __future__ import annotations

import argparse
import json
import logging
import math
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests" / "unit" / "keyinfo"))
sys.path.insert(0, str(REPO))

from keyinfo_helpers import jpeg_of  # noqa: E402
from openai_standin import Action, Recorded, Slow, StandinOpenAI  # noqa: E402

from skyscript.config import KeyInfoSettings, ModelEndpoint, Settings  # noqa: E402
from skyscript.models.chat import ChatRequest, OpenAIChatClient  # noqa: E402

IMAGES_PER_REQUEST = 4
PATHS = ("vlm", "llm")


# --- the server ---------------------------------------------------------------------------------


def answer_for(rec: Recorded) -> str:
    """A valid key-information answer for the request's images, or a short scene for a text request."""
    frame = {"objects": [{"type": "cup", "description": "a white cup on the table"}],
             "people": [{"age": "adult", "gender": "female", "emotion": "happy"}]}
    n = len(rec.images)
    if n == 0:
        return "INT. KITCHEN - NIGHT\n\nEMMA\nYou kept the letter.\n\nJACK\nI kept everything."
    if n == 1:
        return json.dumps(frame)
    return json.dumps({"frames": [{"image": k + 1, **frame} for k in range(n)]})


@dataclass
class LoadServer(StandinOpenAI):
    """The stand-in answering every chat request after ``latency`` seconds; ``capacity`` (batching)
    or ``serial`` (one at a time) decide how many generate at once."""

    latency: float = 0.2

    def _choose(self, rec: Recorded) -> tuple[str, Action]:
        return "load", Slow(self.latency, answer_for(rec))


def start_server(mode: str, latency: float, capacity: int) -> Target:
    """The stand-in in ``mode`` (batching or serial), started; stop it with ``target.server.stop()``."""
    slots = 1 if mode == "serial" else capacity
    server = LoadServer(latency=latency, serial=mode == "serial", capacity=None if mode == "serial" else capacity)
    server.start()
    return Target(mode, server.url, server, slots / latency)


# --- the clients --------------------------------------------------------------------------------


class TimedClient(OpenAIChatClient):
    """The real client, with each attempt's round trip recorded (queueing at the server included,
    waiting for a slot of the client's own limit not)."""

    def __init__(self, *args: Any, **kw: Any) -> None:
        super().__init__(*args, **kw)
        self.latencies: list[float] = []

    def _attempt(self, body: dict[str, Any], attempt: int) -> Any:
        t0 = time.perf_counter()
        try:
            return super()._attempt(body, attempt)
        finally:
            self.latencies.append(time.perf_counter() - t0)  # list.append is atomic


@dataclass(frozen=True)
class Target:
    """Where the requests go: the stand-in (observed at the server) or a real server (``--url``)."""

    name: str  # batching | serial | url
    url: str
    server: LoadServer | None = None  # the stand-in, which counts what it holds
    ideal_rps: float = math.nan  # capacity / latency; unknown for a real server
    model: str | None = "bench"  # a real server: the settings' model, else discovered


@dataclass(frozen=True)
class Workload:
    requests: int
    per_episode: int = 32  # VLM requests per episode
    max_tokens: int = 512  # an LLM request's budget; a VLM request's (a full one of 4 keyframes)


def endpoint(settings: Settings, path: str, target: Target, concurrency: int, adaptive: bool) -> ModelEndpoint:
    base = settings.vlm if path == "vlm" else settings.llm
    return base.model_copy(update={"url": target.url, "model": target.model, "concurrency": concurrency,
                                   "adaptive_concurrency": adaptive})


def episodes(requests: int, per_episode: int) -> list[tuple[str, list[Any]]]:
    """(episode id, keyframes) with ``requests`` requests in all: 4 keyframes a shot, small JPEGs."""
    from skyscript.keyinfo.extract import FrameInput

    out = []
    for e, start in enumerate(range(0, requests, per_episode)):
        n = min(per_episode, requests - start)
        out.append((f"bench--e{e:03d}", [FrameInput(f"bench--e{e:03d}--f{k:07d}", k, k // IMAGES_PER_REQUEST,
                                                    jpeg_of(k % 200)) for k in range(n * IMAGES_PER_REQUEST)]))
    return out


def run_vlm(client: TimedClient, work: list[tuple[str, list[Any]]], max_tokens: int) -> int:
    """The key-information request path over the episodes, one extractor and client for all (as in
    a worker process); returns the requests whose answers were parsed into key information."""
    from skyscript.ids import Keys
    from skyscript.keyinfo.extract import FaceStage, VlmExtractor
    from skyscript.video.shot_size import ShotSizeRules

    params = KeyInfoSettings(images_per_request=IMAGES_PER_REQUEST, max_tokens=max_tokens)
    ex = VlmExtractor(Keys("bench"), params, client, None, None, FaceStage(None, False), ShotSizeRules(),
                      logging.getLogger("bench"))
    annotated = sum(ex.run(ep, frames).counts.get("keyframes_annotated", 0) for ep, frames in work)
    return annotated // IMAGES_PER_REQUEST


def run_llm(client: TimedClient, requests: int, workers: int, max_tokens: int) -> int:
    """The script-pairs path: every request queued at once on the endpoint's concurrency of
    workers (:func:`skyscript.models.chat.pool.completed`); returns the answers."""
    from skyscript.models.chat.pool import completed

    prompt = "Write the scene as a plain screenplay. " + "The production breakdown follows. " * 40

    def one(i: int) -> bool:
        req = ChatRequest("You write screenplays.", f"{prompt}\nVariation key: {i}", max_tokens=max_tokens,
                          allow_truncated=True)
        return bool(client.chat(req).text)

    return sum(completed(one, range(requests), workers, name="bench-llm"))


# --- one measurement ----------------------------------------------------------------------------


@dataclass
class Measured:
    server: str
    path: str
    concurrency: int
    adaptive: bool
    requests: int  # HTTP 200 answers (a retried request counts each time the server answered)
    wall_s: float
    mean_in_flight: float  # at the stand-in, time-averaged; at a real server, by Little's law from the client
    peak_in_flight: int  # at the stand-in; at a real server, the client's
    latencies: list[float]
    ideal_rps: float  # capacity / latency
    limit: int = 0  # the client's limit at the end
    decreases: int = 0  # times the adaptive limit shrank
    parsed: int = 0  # vlm: requests whose answers became key information; llm: answers

    @property
    def rps(self) -> float:
        return self.requests / self.wall_s if self.wall_s > 0 else 0.0


def percentile(values: Sequence[float], q: float) -> float:
    """Nearest-rank percentile (``q`` in 0..100) of the values."""
    if not values:
        return math.nan
    ordered = sorted(values)
    rank = max(1, math.ceil(q / 100 * len(ordered)))
    return ordered[rank - 1]


def measure(target: Target, path: str, concurrency: int, adaptive: bool, load: Workload, settings: Settings) -> Measured:
    ep = endpoint(settings, path, target, concurrency, adaptive)
    work = episodes(load.requests, load.per_episode) if path == "vlm" else []
    with TimedClient(ep, label=path) as client:
        client.served_models()  # the model listing is not part of the load
        if target.server is not None:
            target.server.reset_window()
        t0 = time.perf_counter()
        if path == "vlm":
            parsed = run_vlm(client, work, load.max_tokens)
        else:
            parsed = run_llm(client, load.requests, ep.concurrency, load.max_tokens)
        wall = time.perf_counter() - t0
        if target.server is not None:
            mean, peak = target.server.mean_in_flight(), target.server.max_in_flight
        else:
            mean, peak = sum(client.latencies) / wall, client.limiter.peak_in_flight
        answered = client.stats.snapshot().get("http_200", 0)
    return Measured(target.name, path, concurrency, adaptive, answered, wall, mean, peak, list(client.latencies),
                    target.ideal_rps, client.limiter.current, client.limiter.decreases, parsed)


def plan(levels: Sequence[int]) -> list[tuple[int, bool]]:
    """(concurrency, adaptive) per run: adaptive on and off for every level above one."""
    return [(c, a) for c in levels for a in ((False,) if c == 1 else (True, False))]


def headline(results: Sequence[Measured], top: int, server: str = "batching") -> Measured:
    """The default setting (adaptive, the highest level) on ``server``, the slower path."""
    picked = [m for m in results if m.server == server and m.concurrency == top and m.adaptive]
    return min(picked, key=lambda m: m.rps)


def row(m: Measured) -> str:
    ideal = f"{m.rps / m.ideal_rps:>9.2f}" if m.ideal_rps == m.ideal_rps else f"{'-':>9}"
    return (f"{m.server:<9} {m.path:<4} {m.concurrency:>4} {'on' if m.adaptive else 'off':>8} {m.requests:>5} "
            f"{m.parsed:>6} {m.wall_s:>7.2f} {m.mean_in_flight:>9.2f} {m.peak_in_flight:>5} {m.rps:>7.1f} "
            f"{percentile(m.latencies, 50) * 1000:>7.0f} {percentile(m.latencies, 95) * 1000:>7.0f} "
            f"{ideal} {m.limit:>6} {m.decreases:>5}")


HEADER = (f"{'server':<9} {'path':<4} {'conc':>4} {'adaptive':>8} {'reqs':>5} {'parsed':>6} {'wall_s':>7} "
          f"{'mean_infl':>9} {'peak':>5} {'req/s':>7} {'p50_ms':>7} {'p95_ms':>7} {'vs_ideal':>9} {'limit':>6} "
          f"{'decr':>5}")


def main(argv: Sequence[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--requests", type=int, default=192, help="requests per run on the batching server (or --url)")
    ap.add_argument("--serial-requests", type=int, default=24, help="requests per run on the serial server")
    ap.add_argument("--latency", type=float, default=0.2, help="seconds the stand-in takes per request")
    ap.add_argument("--capacity", type=int, default=16, help="requests the batching stand-in generates at once")
    ap.add_argument("--levels", default="1,4,16", help="client concurrency settings to run")
    ap.add_argument("--episode-requests", type=int, default=32, help="VLM requests per episode")
    ap.add_argument("--max-tokens", type=int, default=512, help="generation budget of a request")
    ap.add_argument("--url", help="a real OpenAI-compatible server (e.g. lmdeploy's, http://host:23333/v1) "
                                  "instead of the stand-ins; the model is SKYSCRIPT_VLM__MODEL / _LLM__MODEL or discovered")
    ap.add_argument("--paths", default=",".join(PATHS), help="client paths to run (vlm, llm)")
    args = ap.parse_args(argv)
    levels = [int(x) for x in args.levels.split(",")]
    paths = [p for p in args.paths.split(",") if p]
    logging.basicConfig(level=logging.ERROR)
    settings = Settings()
    print(f"vlm: {args.episode_requests} requests an episode, {IMAGES_PER_REQUEST} keyframes a request; "
          f"max_tokens {args.max_tokens}")
    if args.url:
        print(f"server: {args.url} (concurrency seen from the client)")
        runs = [("url", Workload(args.requests, args.episode_requests, args.max_tokens))]
    else:
        print(f"stand-in: latency {args.latency:g} s; batching capacity {args.capacity} (ideal "
              f"{args.capacity / args.latency:.1f} req/s), serial (ideal {1 / args.latency:.1f} req/s)")
        runs = [("batching", Workload(args.requests, args.episode_requests, args.max_tokens)),
                ("serial", Workload(args.serial_requests, args.episode_requests, args.max_tokens))]
    print(HEADER)
    results: list[Measured] = []
    for name, load in runs:
        stand_in = None if name == "url" else start_server(name, args.latency, args.capacity)
        try:
            for path in paths:
                model = (settings.vlm if path == "vlm" else settings.llm).model
                target = stand_in or Target("url", args.url, model=model)
                for conc, adaptive in plan(levels):
                    m = measure(target, path, conc, adaptive, load, settings)
                    results.append(m)
                    print(row(m), flush=True)
        finally:
            if stand_in is not None and stand_in.server is not None:
                stand_in.server.stop()
    top = headline(results, max(levels), "url" if args.url else "batching")
    print(f"default setting on the {top.server} server (adaptive, concurrency {top.concurrency}, slower path: {top.path}):")
    print(f"achieved concurrency {top.mean_in_flight:.1f} of {top.concurrency}; {top.rps:.1f} req/s")


if __name__ == "__main__":
    main()
