"""The service layer (SPEC §8, ARCHITECTURE): keystores, accounts, follows and reads, once, for the CLI
and Telegram alike. See docs/decisions/service.md."""

from bot.service.actor import Actor
from bot.service.errors import (
    Conflict,
    InvalidInput,
    KeystoreError,
    NotFound,
    ServiceError,
    VenueError,
    VenueUnreachable,
)
from bot.service.service import VENUE, MirrorService
from bot.service.settings import FollowSettings, settings_from_json, settings_to_json, to_config
from bot.service.views import jsonable

__all__ = [
    "VENUE",
    "Actor",
    "Conflict",
    "FollowSettings",
    "InvalidInput",
    "KeystoreError",
    "MirrorService",
    "NotFound",
    "ServiceError",
    "VenueError",
    "VenueUnreachable",
    "jsonable",
    "settings_from_json",
    "settings_to_json",
    "to_config",
]
