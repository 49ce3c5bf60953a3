"""Runtime risk guards (SPEC §4): account-level daily loss, drawdown and equity floor; source-side
drawdown and leverage. Pure rules in `guards`, per-follower state and its persistence in `book`. The
copier's view of them (bot/pipeline/guard_gate.py) and the owner's pause / resume / stop as the runner
carries them out (bot/pipeline/owner_controls.py) live in the pipeline: they act on its desks."""

from bot.risk.book import BookStore, RiskBook, RiskStore
from bot.risk.guards import RiskLimits, RiskReason

__all__ = ["BookStore", "RiskBook", "RiskLimits", "RiskReason", "RiskStore"]
