"""ALMA side by side with other attacks: a registry of attacks (ours and adv_lib's baselines), a harness that counts
model calls and measures every attack the same way, and robust-accuracy curves. Needs adv_lib for the baselines."""
from .attacks import ATTACKS, AttackFn, AttackSpec, get_attack
from .budget import DEFAULT_BUDGET, NO_LIMIT, BudgetExhausted, QueryLog, query_budget
from .counting import CallCounts, count_calls, watch_calls
from .curves import accuracy_curve, median_distance, robust_accuracy
from .harness import AttackRun, compare, run_attack, samples_frame, summary_frame

__all__ = ["ATTACKS", "DEFAULT_BUDGET", "NO_LIMIT", "AttackFn", "AttackRun", "AttackSpec", "BudgetExhausted",
           "CallCounts", "QueryLog", "accuracy_curve", "compare", "count_calls", "get_attack", "median_distance",
           "query_budget", "robust_accuracy", "run_attack", "samples_frame", "summary_frame", "watch_calls"]
