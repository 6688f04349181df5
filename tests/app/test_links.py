"""The explorer's settings as URL parameters and back: every kind of setting survives, a bad value is named."""
from __future__ import annotations

import pytest

from ui.config import AttackSettings, ConfigError, InputRef, RunConfig
from ui.library.links import settings_from_params, settings_params


@pytest.mark.parametrize("config", [
    RunConfig(model="mnist-smallcnn", input=InputRef(sample="mnist/7", invert=True),
              attack=AttackSettings(distance="ciede2000", targeted=True, target=3, num_steps=250, alpha=0.0,
                                    init_lr_distance=0.25, penalty="P1", mu_init=1e-12, lr_decay=False,
                                    optimizer="sgd", momentum=None, levels=256, seed=None),
              device="cpu", cpu_threads=2),
    RunConfig(model="mnist-smallcnn", input=InputRef(sha256="ab" * 32), attack=AttackSettings()),
])
def test_a_config_survives_the_url(config: RunConfig) -> None:
    params = settings_params(config)
    assert all(isinstance(v, str) for v in params.values())
    assert settings_from_params(params) == config


def test_only_the_settings_off_their_defaults_are_in_the_url() -> None:
    config = RunConfig(model="mnist-smallcnn", input=InputRef(sample="mnist/3"), attack=AttackSettings(alpha=0.0))
    assert settings_params(config) == {"model": "mnist-smallcnn", "sample": "mnist/3", "device": "cpu",
                                       "cpu_threads": "1", "alpha": "0.0"}


@pytest.mark.parametrize(("params", "message"), [
    ({"model": "no-such-model"}, "unknown model 'no-such-model'"),
    ({"model": "mnist-smallcnn", "num_steps": "many"}, "num_steps='many' is not a valid int"),
    ({"model": "mnist-smallcnn", "lr_decay": "maybe"}, "lr_decay='maybe' is not a valid bool"),
    ({"model": "mnist-smallcnn", "rocket": "1"}, "unknown settings: rocket"),
])
def test_a_bad_url_names_what_is_wrong(params: dict[str, str], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        settings_from_params(params)


def test_a_url_without_a_model_sets_nothing() -> None:
    assert settings_from_params({"run": "0" * 32}) is None
