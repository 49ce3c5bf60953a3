"""`mirrorbot demo`: the whole product, live, on the embedded localnet (bot/demo/run.py), and what it shows
and concludes (bot/demo/report.py: the live table and the summary, read from the venue)."""

from bot.demo.report import Profile
from bot.demo.run import COINS, PROFILES, SCRIPT, Step, profile, run_demo

__all__ = ["COINS", "PROFILES", "SCRIPT", "Profile", "Step", "profile", "run_demo"]
