"""Time the whole CPU stage (probe, scan, text, privacy, shot size, offline key information) on one
720p H.264 episode through the real pipeline, against pure decoding of the same file, all in one run.

    python bench/bench_stage.py [FILE] [--seconds S] [--size WxH] [--repeat N] [--keep DIR]

The episode is FILE (default Megamind.avi from the sample-media cache, ~/.cache/skyscript/samples or
$SKYSCRIPT_SAMPLES) re-encoded to H.264 at ``--size`` (default 1280x720) and played back to back
until it lasts at least ``--seconds`` (default 120). The stage runs on the embedded default (SQLite
and the local store in a temporary home, no VLM endpoint: key information runs its offline face
models) through :func:`skyscript.steps.runner.run_step`, the runner ``skyscript run`` uses: each
step is set up once (model loading, timed apart), then runs on the episode under leases with its
lineage written.

Prints, per step, CPU-seconds (user + system of this process and its children, every thread
counted) and wall seconds, CPU-seconds per video-second and the step's share of the stage; then
the totals, the ratio of the stage's CPU to pure decoding's, and last
``real-time factor per core: N.N`` (video seconds per CPU-second of per-episode work, after a
warm-up episode: the steady state of a worker that has its models loaded).

The episode is run ``--repeat`` times (default 3, each time as a new drama, so every step does
its whole work again), each run after a pure decode of the file; per-step figures and the last
line are the medians over the repeats, and the factor of each repeat is printed too. On a shared
virtual machine the same work varies by 10-25 % from minute to minute; the median of a few
repeats, and the stage-to-decode ratio measured beside it, are steadier than any single run.
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from statistics import median
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_scan import reencode_h264

STAGE = ("probe", "scan", "text", "privacy", "shot_size", "keyinfo")


def cpu_now() -> float:
    """CPU-seconds used so far by this process (all threads) and its waited-for children."""
    t = os.times()
    return t.user + t.system + t.children_user + t.children_system


@dataclass
class Timing:
    cpu_s: float = 0.0
    wall_s: float = 0.0


def build_episode(src: Path, out_dir: Path, width: int, height: int, seconds: float) -> tuple[Path, float]:
    """``src`` re-encoded to H.264 ``width`` x ``height``, looped to last at least ``seconds``."""
    from skyscript.video.probe import probe

    clip = probe(src)
    loops = max(1, int(-(-seconds // max(clip.duration_s, 1e-3))))
    dst = out_dir / f"{src.stem}_{width}x{height}_x{loops}.mp4"
    reencode_h264(src, dst, width, height, loops)
    return dst, probe(dst).duration_s


def run_stage(
    video: Path, warm_video: Path, home: Path, repeat: int = 1, before_each: Any = None,
) -> tuple[dict[str, Timing], dict[str, Timing], list[dict[str, Timing]], dict[str, dict[str, int]]]:
    """Set each stage step up once, run the stage on ``warm_video`` (a short warm-up episode of
    its own drama: engines a step builds on first use load there), then ``repeat`` times on
    ``video`` (a drama of its own each time), calling ``before_each()`` before each.
    Returns (set-up timings, warm-up timings, per-episode timings of each repeat, each step's counts)."""
    from skyscript.config import Settings
    from skyscript.context import open_context
    from skyscript.db import lineage
    from skyscript.steps import registry
    from skyscript.steps.runner import ensure_setup, run_step, teardown

    settings = Settings(home=home)
    kinds = registry.PIPELINE.kinds()
    ingest = registry.get("ingest").load()
    steps = [registry.get(name).load() for name in STAGE]
    setup: dict[str, Timing] = {}
    counts: dict[str, dict[str, int]] = {}

    def episode_of(drama: str, source: Path) -> tuple[Any, str]:
        ctx = open_context(settings, drama, dag_run_id=f"{drama}-run", params={"sources": [str(source)]})
        run_step(ingest, ctx, None, kinds=kinds, raise_errors=True)
        with ctx.db.session() as s:
            (episode,) = [e.id for e in lineage.episodes_of(s, ctx.drama_id)]
        ctx.params = {}
        return ctx, episode

    def stage(ctx: Any, episode: str) -> dict[str, Timing]:
        out: dict[str, Timing] = {}
        for step in steps:
            c, w = cpu_now(), time.perf_counter()
            res = run_step(step, ctx, episode, kinds=kinds, raise_errors=True)
            out[step.name] = Timing(cpu_now() - c, time.perf_counter() - w)
            if res.status != "success":
                raise RuntimeError(f"step {step.name} did not succeed: {res.status} {res.error}")
            counts[step.name] = dict(res.counts)
        return out

    try:
        for step in steps:
            c, w = cpu_now(), time.perf_counter()
            ensure_setup(step, settings)
            setup[step.name] = Timing(cpu_now() - c, time.perf_counter() - w)
        warm = stage(*episode_of("bench-warm", warm_video))
        work = []
        for k in range(repeat):
            episode = episode_of(f"bench-stage-{k + 1}" if k else "bench-stage", video)  # ingest is not timed
            if before_each is not None:
                before_each()
            work.append(stage(*episode))
    finally:
        for step in steps:
            teardown(step)
    return setup, warm, work, counts


def main(argv: list[str] | None = None) -> int:
    from skyscript.video.decode import pure_decode
    from skyscript.video.probe import probe

    samples = Path(os.environ.get("SKYSCRIPT_SAMPLES") or Path.home() / ".cache" / "skyscript" / "samples")
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("file", nargs="?", default=str(samples / "Megamind.avi"))
    ap.add_argument("--seconds", type=float, default=120.0, help="shortest episode length (default 120 s)")
    ap.add_argument("--size", default="1280x720", metavar="WxH", help="episode frame size (default 1280x720)")
    ap.add_argument("--repeat", type=int, default=3, metavar="N",
                    help="run the episode N times (a pure decode before each); medians are reported (default 3)")
    ap.add_argument("--keep", metavar="DIR", help="keep the work folder (episode, database, store) here")
    args = ap.parse_args(argv)
    src = Path(args.file)
    if not src.is_file():
        print(f"no such file: {src} (run scripts/fetch_sample_media.sh or give a path)", file=sys.stderr)
        return 2
    try:
        width, height = (int(x) for x in args.size.lower().split("x"))
    except ValueError:
        print(f"--size must read WIDTHxHEIGHT, not {args.size!r}", file=sys.stderr)
        return 2
    work_dir = Path(args.keep) if args.keep else Path(tempfile.mkdtemp(prefix="bench-stage-"))
    work_dir.mkdir(parents=True, exist_ok=True)
    try:
        video, duration = build_episode(src, work_dir, width, height, args.seconds)
        warm_video, _ = build_episode(src, work_dir, width, height, 0)
        info = probe(video)
        decodes: list[Timing] = []
        frames = 0

        def decode_once() -> None:
            nonlocal frames
            c, w = cpu_now(), time.perf_counter()
            frames = pure_decode(video)
            decodes.append(Timing(cpu_now() - c, time.perf_counter() - w))

        setup, warm, repeats, counts = run_stage(video, warm_video, work_dir / "home", max(1, args.repeat), decode_once)
    finally:
        if not args.keep:
            shutil.rmtree(work_dir, ignore_errors=True)

    work = {name: Timing(median(r[name].cpu_s for r in repeats), median(r[name].wall_s for r in repeats)) for name in repeats[0]}
    totals = [sum(t.cpu_s for t in r.values()) for r in repeats]
    total = Timing(median(totals), median(sum(t.wall_s for t in r.values()) for r in repeats))
    decode = Timing(median(t.cpu_s for t in decodes), median(t.wall_s for t in decodes))
    print(f"episode   {video.name}: {info.width}x{info.height} {info.codec}, {duration:.1f} s, {frames} frames, "
          f"{counts['scan'].get('shots', '?')} shots, {counts['scan'].get('keyframes', '?')} keyframes; "
          f"{os.cpu_count()} CPUs")
    print(f"decode    CPU {decode.cpu_s:7.2f} s  wall {decode.wall_s:7.2f} s  "
          f"({decode.cpu_s / duration:.4f} CPU-s per video-s, PyAV, frames only)")
    print("set-up (once per process, not per episode):")
    for name, t in setup.items():
        print(f"  {name:<10} CPU {t.cpu_s:7.2f} s  wall {t.wall_s:7.2f} s")
    print(f"  {'total':<10} CPU {sum(t.cpu_s for t in setup.values()):7.2f} s")
    print(f"warm-up episode ({warm_video.name}, engines built on first use load here): "
          + ", ".join(f"{n} {t.cpu_s:.2f}" for n, t in warm.items()) + " CPU-s")
    print(f"per episode (median of {len(repeats)} run(s); each run: "
          + " / ".join(f"{c:.2f}" for c in totals) + " CPU-s, pure decode before it: "
          + " / ".join(f"{d.cpu_s:.2f}" for d in decodes) + " CPU-s):")
    for name, t in work.items():
        print(f"  {name:<10} CPU {t.cpu_s:7.2f} s  wall {t.wall_s:7.2f} s  {t.cpu_s / duration:.4f} CPU-s/video-s  "
              f"share {100 * t.cpu_s / max(total.cpu_s, 1e-9):5.1f} %")
    print(f"  {'total':<10} CPU {total.cpu_s:7.2f} s  wall {total.wall_s:7.2f} s  {total.cpu_s / duration:.4f} CPU-s/video-s")
    print(f"stage CPU / pure decode CPU: {total.cpu_s / max(decode.cpu_s, 1e-9):.2f}")
    print("real-time factor per core of each run: " + " / ".join(f"{duration / max(c, 1e-9):.1f}" for c in totals))
    print(f"peak memory (RSS) of this process: {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MiB")
    print(f"real-time factor per core: {duration / max(total.cpu_s, 1e-9):.1f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
