"""1000 mutated run-config files through the explorer's config loader: each is accepted and can be rerun (the
attack runs it, for two steps), or rejected with a `ConfigError` whose message names the field in words, never a raw
key (`('input')`, `num_steps`) or a Python type. Seeded: a failure names the mutant, which reproduces it."""
from __future__ import annotations

import json
import math
import random
import re

import pytest
import torch

from alma import attack
from alma.images import to_model_input
from alma.models import DEFAULT_MODEL, get_info, load_model
from alma.samples import load_sample
from ui.config import AttackSettings, ConfigError, InputRef, RunConfig
from ui.config_check import FIELD_WORDS, SECTIONS

MUTANTS = 1000
SEED = 16
RERUN_STEPS = 2
FILE_LEVEL = ("not a run config", "is incomplete", "parts this explorer does not know")
"""Messages about the file as a whole (not JSON, wrong format, a missing or unknown part)."""
RAW = re.compile(r"\('|'\)|\b(KeyError|TypeError|NoneType|__init__|dict|list|str|int|float)\b|\b[a-z]+_[a-z_]+\b")
"""What a message must not contain: Python reprs, type names, snake_case keys."""
JUNK = (None, True, False, 0, -1, 1, 2, 0.5, -0.5, 1.5, 1e9, -1e9, 1e308, float("nan"), float("inf"), "", "abc",
        "l2", "0", [], [1], {}, {"a": 1}, 2**70, 3.0, 256, 100000, 100001, "mnist/3", "cuda", "cpu")


def _valid() -> dict:
    config = RunConfig(model=DEFAULT_MODEL, input=InputRef(sample="mnist/3"),
                       attack=AttackSettings(num_steps=100, levels=256, targeted=True, target=5))
    return json.loads(config.to_json())


def _mutate(rng: random.Random) -> tuple[str, bytes]:
    data = _valid()
    kind = rng.choice(("value", "value", "value", "delete", "add", "rename", "bytes", "section"))
    section = rng.choice(("attack", "attack", "input", None))
    target = data if section is None else data[section]
    key = rng.choice(sorted(target))
    if kind == "value":
        target[key] = rng.choice(JUNK)
    elif kind == "delete":
        del target[key]
    elif kind == "add":
        target[rng.choice(("extra", "num_step", "Distance", "__class__"))] = rng.choice(JUNK)
    elif kind == "rename":
        target[key.upper()] = target.pop(key)
    elif kind == "section":
        data[rng.choice(("attack", "input"))] = rng.choice(JUNK)
    text = json.dumps(data).encode()
    if kind == "bytes":
        text = bytearray(text)
        for _ in range(rng.randint(1, 4)):
            text[rng.randrange(len(text))] = rng.randrange(256)
        text = bytes(text)
    return f"{kind} {section}.{key}", text


def _names_a_field(message: str) -> bool:
    return any(words.lower() in message.lower() for words in (*FIELD_WORDS.values(), *SECTIONS.values())) or \
        any(phrase in message for phrase in FILE_LEVEL) or "μ_min ≤ μ⁽⁰⁾ ≤ μ_max" in message


def test_the_valid_config_loads_and_reruns() -> None:
    config = RunConfig.from_json(json.dumps(_valid()))
    assert config.attack.targeted and config.attack.target == 5 and config.input.sample == "mnist/3"


@pytest.mark.slow
def test_mutated_configs_are_accepted_and_rerun_or_rejected_in_words() -> None:
    rng = random.Random(SEED)
    model = load_model(DEFAULT_MODEL)
    image = to_model_input(load_sample("mnist/3"), get_info(DEFAULT_MODEL))
    accepted, bad = [], []
    for index in range(MUTANTS):
        what, text = _mutate(rng)
        try:
            config = RunConfig.from_json(text)
        except ConfigError as err:
            message = str(err)
            ours = re.sub(r"“[^”]*”", "", message.split("(it is")[0])  # what the file said is quoted as it was
            if not _names_a_field(message) or RAW.search(ours):
                bad.append(f"mutant {index} ({what}): {message}")
        except Exception as err:  # noqa: BLE001 — anything else escaping the loader is the failure searched for
            bad.append(f"mutant {index} ({what}): {type(err).__name__}: {err}")
        else:
            accepted.append((index, what, config))
    assert bad == [], bad[:10]
    assert 20 <= len(accepted) < MUTANTS, len(accepted)  # the mutations reach both outcomes

    by_settings = {}
    for index, what, config in accepted:
        by_settings.setdefault(config.attack, (index, what, config))
    for index, what, config in by_settings.values():  # each distinct accepted config reruns
        settings = config.attack
        label = settings.target if settings.targeted else 3
        kwargs = {**settings.attack_kwargs(), "num_steps": RERUN_STEPS}
        try:
            result = attack(model, image, torch.tensor([label]), **kwargs)
        except Exception as err:  # noqa: BLE001
            pytest.fail(f"mutant {index} ({what}) was accepted but does not rerun: {type(err).__name__}: {err}")
        assert not math.isnan(float(result.distances[0])), (index, what)
