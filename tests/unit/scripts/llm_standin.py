"""The OpenAI stand-in of the keyinfo tests, answering script restorations: each request is
recognised by the variation key (the seed) in its prompt and answered by a deterministic writer
that names the characters and uses the heading the prompt gives, unless a fault is planned for
that seed (camera jargon, a missing character, a copy of another answer, HTTP errors)."""

from __future__ import annotations

import random
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parents[1] / "keyinfo"))

from openai_standin import Action, Fail, Recorded, Reply, Slow, StandinOpenAI  # noqa: E402

WORDS = ("rain window letter coffee promise silence door phone ring stairs mirror secret train ticket garden "
         "candle photograph debt apology storm umbrella key kitchen hospital contract wedding bracelet").split()


def characters_of(user: str) -> list[str]:
    m = re.search(r"^Characters \(use every one of these names, spelled exactly so\): (.*)$", user, re.M)
    return [] if m is None or m.group(1).startswith("(") else [n.strip() for n in m.group(1).split(",")]


def heading_of(user: str) -> str:
    m = re.search(r"^Scene heading to use: (.*)$", user, re.M)
    return m.group(1).strip() if m else "INT. ROOM - DAY"


def seed_of(user: str) -> int:
    m = re.search(r"^Variation key: (\d+)$", user, re.M)
    assert m, "the prompt carries no variation key"
    return int(m.group(1))


def write(user: str, seed: int | None = None) -> str:
    """A deterministic screenplay scene for the request (different words per seed)."""
    seed = seed_of(user) if seed is None else seed
    rng = random.Random(seed)
    names = characters_of(user)
    lines = [heading_of(user), ""]
    a, b = rng.sample(WORDS, 2)
    lines += [f"{' and '.join(names) or 'Nobody'} wait by the {a}. Outside, the {b} will not stop.", ""]
    for n in names:
        c, d, e = rng.sample(WORDS, 3)
        lines += [n, f"You kept the {c}. Tell me about the {d} and the {e}.", ""]
    lines += [f"A long pause. Somewhere a {rng.choice(WORDS)} falls."]
    return "\n".join(lines)


@dataclass
class ScriptLLM(StandinOpenAI):
    """``faults``: seed -> list of fault names per attempt (the last repeats): ``ok``, ``jargon``,
    ``no_name``, ``copy:<seed>`` (the answer for another seed), ``near:<seed>`` (that answer with
    one word changed), ``http:<status>``, ``slow:<seconds>``."""

    model: str = "script-model-standin"
    faults: dict[int, list[str]] = field(default_factory=dict)
    delay_s: float = 0.0

    def _choose(self, rec: Recorded) -> tuple[str, Action]:
        seed = seed_of(rec.user)
        key = f"seed:{seed}"
        with self._lock:
            n = self.attempts.get(key, 0)
            self.attempts[key] = n + 1
        plan = self.faults.get(seed, ["ok"])
        fault = plan[min(n, len(plan) - 1)]
        text = write(rec.user)
        if fault.startswith("http:"):
            return key, Fail(int(fault.split(":")[1]))
        if fault.startswith("slow:"):
            return key, Slow(float(fault.split(":")[1]), text)
        if fault == "jargon":
            text = text.replace("A long pause.", "CLOSE-UP on the door. A long pause.")
        elif fault == "no_name":
            for n in characters_of(rec.user)[1:]:
                text = text.replace(n, "SOMEONE")
        elif fault.startswith("copy:"):
            text = write(rec.user, int(fault.split(":")[1]))
        elif fault.startswith("near:"):
            text = write(rec.user, int(fault.split(":")[1])).replace("A long pause.", "A short pause.")
        return key, (Slow(self.delay_s, text) if self.delay_s else Reply(text))
