"""Errors of the model registry (missing weights raise `alma.weights.WeightsError`)."""


class ModelUnavailable(RuntimeError):
    """The model needs an optional package that is not installed; the message says how to install it."""


class UnknownModel(KeyError):
    """No registry entry has this name; the message lists the known names."""

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else ""
