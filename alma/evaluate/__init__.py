"""Evaluation at scale: `alma-eval` runs attacks over a dataset slice under AttackBench's per-sample query budget
(`alma.compare.query_budget`), writes one row per sample (`samples.parquet`) and a summary with AttackBench's
optimality; the work is cut into chunks that are written atomically (a rerun resumes) and shared among torchrun's
processes."""
from .config import EvalConfig
from .datasets import Dataset, DatasetError, load_dataset
from .optimality import area, envelope, local_optimality, ranking

__all__ = ["Dataset", "DatasetError", "EvalConfig", "area", "envelope", "load_dataset", "local_optimality",
           "ranking"]
