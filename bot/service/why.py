"""`why`: the lineage of a fill, an order or a decision, for the CLI and Telegram alike.

A reference of 64 hex digits is ambiguous: a decision (instruction) id has that shape, and so has a
private key. The rule (docs/telegram.md): it is looked up as an id first; when it names nothing it is
treated as a possible private key — not repeated in the answer, not written to the audit log.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from bot.ledger import Lineage, render_lineages
from bot.ledger.repository import Ledger
from bot.service.errors import InvalidInput
from bot.service.inputs import looks_like_key
from bot.service.views import WhyView

REFS = "a fill's trade id, a venue order id, a cloid or an instruction id"
UNSHOWN = "(a reference that looks like a private key: not recorded)"
UNKNOWN_KEY_LIKE = (
    "Nothing in the ledger matches that reference. It looks like a private key, so it is neither shown "
    "nor recorded: if it is one, treat it as leaked and move its funds. (Give " + REFS + ".)"
)


async def lookup(
    ledger: Ledger, ref: object, keep: Callable[[Lineage], bool] = lambda _: True
) -> tuple[WhyView, str]:
    """The view of the chains `ref` names that `keep` lets through, and `ref` as the audit log may
    record it."""
    text = ref.strip() if isinstance(ref, str) else ""
    if not text:
        raise InvalidInput("ref", "empty", REFS)
    found: Sequence[Lineage] = await ledger.lineage(text)
    if not found and looks_like_key(text):
        return WhyView(UNSHOWN, 0, UNKNOWN_KEY_LIKE, redacted=True), UNSHOWN
    chains = [chain for chain in found if keep(chain)]
    return WhyView(text, len(chains), render_lineages(text, chains), lineages=tuple(chains)), text
