"""The paper venue: a `Venue` whose follower accounts are simulated in process at the live mids of a real
venue (adapters/paper/venue.py says how), built by the venue factory (`bot.venues.open_paper_venue`).

Modules: `venue` (`PaperVenue`: reads, the venue's checks, fills), `account` (a paper account on the
house's one position accounting, `bot.domain.accounting`), `state` (persistence as JSON).
"""

from adapters.paper.account import PaperAccount, PaperRefused, direction
from adapters.paper.venue import PaperVenue

__all__ = ["PaperAccount", "PaperRefused", "PaperVenue", "direction"]
