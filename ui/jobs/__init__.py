"""Jobs: attacks and other long computations run in worker processes, outside the Streamlit server.

A page submits a picklable task to the shared `pool()` and keeps the returned `Job`; it stops, pauses, steps and
resumes it, and draws `job.snapshot()`: new trace rows stream back while the task runs. Nothing here knows about
Streamlit. `ui.live` is the page side.
"""
from .job import Job, JobFailed, Phase, Snapshot
from .pool import Pool, Task, pool
from .worker import Stopped, WorkerContext

__all__ = ["Job", "JobFailed", "Phase", "Pool", "Snapshot", "Stopped", "Task", "WorkerContext", "pool"]
