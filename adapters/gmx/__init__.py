"""GMX v2 (gmx-synthetics) through web3: reading, watching and trading, as a `bot.domain.Venue`."""
