"""Runtime risk guards (SPEC §4): account-level daily loss, drawdown and equity floor; source-side
drawdown and leverage. Pure rules in `guards`, per-follower state and its persistence in `book`, the
copier's view in `gate`, and the owner's pause / resume / stop as the runner carries them out in
`controls`."""

from bot.risk.book import RiskBook, RiskStore
from bot.risk.guards import RiskLimits, RiskReason

__all__ = ["RiskBook", "RiskLimits", "RiskReason", "RiskStore"]
