"""The copier: source changes → each follower's engine → recorded decisions → orders → fills → positions.

Per follower a `strategies.engine.Follower` (in a `Desk`) is fed instruments, mids, equities (source
and follower, from the venue's account reads), the follower's positions as the venue reports them, and
source changes. Every decision is recorded (deferred and skipped ones too, with their reason); one
with an order goes LeaderEvent → CopyInstruction → OrderIntent (persisted before the send) → venue →
VenueOrder status → Fills → PositionSnapshot. The pairs of one follower are independent (a lock per
pair, not per follower).

The `Copier` builds the parts, each with one job, over one shared `Followers`, and is what the runner,
the reconciliation pass and the protector hold:

- `accounts` (`AccountSync`, account_sync.py): account reads into the engines and the guards;
- `plans` (`Plans`, plans.py): follow plans and the guards' ended follows into decisions;
- `mirror` (`Mirror`, mirror.py): a batch of source changes fanned out to every follower;
- `executor` (`Executor`, execute.py): decisions recorded, orders sent and settled, an IOC's rest retried;
- `oms` (`OrderManager`, oms.py): every order recorded, sent, looked up and cancelled;
- `commission` (`Commission`, commission.py): a follow's builder on its orders, once approved;
- `settler` (`Settler`, settle.py): an answered order's position and fills;
- `recovery` (`Recovery`, recovery.py): restart safety;
- `teller` (`Teller`, tell.py): what the user is told.
"""

from __future__ import annotations

from collections.abc import Callable

from bot.alerts import AlertBus
from bot.domain import AccountState, Venue
from bot.ledger import Ledger
from bot.pipeline.account_sync import AccountSync
from bot.pipeline.commission import Commission
from bot.pipeline.desk import Desk
from bot.pipeline.execute import Executor
from bot.pipeline.followers import Followers
from bot.pipeline.guard_gate import RiskGate
from bot.pipeline.lag import CopyClock
from bot.pipeline.mirror import Mirror
from bot.pipeline.oms import OrderManager, RetryPolicy
from bot.pipeline.plans import Plans
from bot.pipeline.reads import AccountReader
from bot.pipeline.recovery import Recovery
from bot.pipeline.settle import Settler
from bot.pipeline.tell import Teller
from bot.risk.book import RiskBook
from strategies.model import Market


class Copier:
    def __init__(
        self,
        venue: Venue,
        ledger: Ledger,
        alerts: AlertBus,
        markets: dict[str, Market],
        *,
        venue_name: str,
        policy: RetryPolicy | None = None,
        risk: RiskGate | None = None,
        clock: CopyClock | None = None,
    ) -> None:
        self.venue = venue
        self.ledger = ledger
        self.alerts = alerts
        self.venue_name = venue_name
        self.followers = Followers(venue, markets)
        self.risk = risk if risk is not None else RiskGate(RiskBook(), alerts)  # runtime guards
        self.teller = Teller(alerts, markets)
        self.reader = AccountReader(venue, self.followers.venue_of)  # bounded
        self.accounts = AccountSync(self.followers, self.reader, self.risk)
        self.oms = OrderManager(venue, ledger, policy, venue_name=venue_name)
        # After each order: the position and fills (a position read feeds the engine and the guards).
        self.settler = Settler(venue, ledger, venue_name, self.accounts.observe_follower, alerts)
        self.commission = Commission(venue, self.teller)  # a follow's builder on its orders (SPEC §14)
        self.executor = Executor(
            self.followers, self.oms, self.settler, self.risk, self.teller, self.commission, clock
        )
        self.plans = Plans(self.followers, self.accounts, self.executor, self.risk, self.teller)
        self.mirror = Mirror(self.followers, self.executor)
        self.recovery = Recovery(
            self.followers,
            ledger,
            accounts=self.accounts,
            plans=self.plans,
            mirror=self.mirror,
            oms=self.oms,
            settler=self.settler,
            teller=self.teller,
        )
        # The hot path's entry point, bound once (the intake calls it per batch of source changes).
        self.on_changes = self.mirror.on_changes

    # --- what every part shares ------------------------------------------------------------------

    @property
    def markets(self) -> dict[str, Market]:
        return self.followers.markets

    @property
    def desks(self) -> dict[str, Desk]:
        return self.followers.desks

    @property
    def source_states(self) -> dict[str, AccountState]:
        return self.followers.source_states

    @property
    def source_venue(self) -> Callable[[str], Venue]:
        """The venue a source trades on (the runner routes GMX sources: bot/pipeline/sources.py)."""
        return self.followers.venue_of

    @source_venue.setter
    def source_venue(self, route: Callable[[str], Venue]) -> None:
        self.followers.source_venue = route

    @property
    def idle(self) -> bool:
        """No source change is being mirrored right now (health, tests, shutdown)."""
        return self.mirror.idle

    def add_desk(self, desk: Desk) -> None:
        self.followers.add(desk)

    def sources(self) -> list[str]:
        """Every source some follower actively follows, sorted."""
        return self.followers.sources()

    async def refresh_accounts(self) -> None:
        """Every followed source and every follower read; then the follows a guard ended are carried out."""
        await self.accounts.refresh()
        await self.plans.enforce_risk()
