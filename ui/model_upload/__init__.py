"""Upload a model (ONNX, or safetensors for a named architecture): the panel of the model picker, and the jobs that
carry the session's uploaded models to the worker processes."""
from .panel import upload_panel
from .session import WithModels, session_models, with_session_models

__all__ = ["WithModels", "session_models", "upload_panel", "with_session_models"]
