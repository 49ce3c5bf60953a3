"""Settings: environment variables with the `MIRROR_` prefix (and a `.env` file).

A bad setting stops start-up with a message naming the variable and what it accepts
(`load_settings` turns pydantic's error into `SettingsError`).
"""

from __future__ import annotations

from decimal import Decimal
from enum import StrEnum
from pathlib import Path

from pydantic import Field, SecretStr, ValidationError, ValidationInfo, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from bot.database_url import DatabaseUrlError, database_url
from bot.redaction import redact_text

ENV_PREFIX = "MIRROR_"

MAINNET_API_URL = "https://api.hyperliquid.xyz"
TESTNET_API_URL = "https://api.hyperliquid-testnet.xyz"
LOCALNET_DEFAULT_PORT = 8787
# MIRROR_BUS_STREAM_MAX_LEN's default: a change is a few hundred bytes, so the 16 shards hold at most
# ~50 MB; at 100 changes/s over the cluster that is ~25 min of one copy worker's backlog.
BUS_STREAM_MAX_LEN = 10_000


class Network(StrEnum):
    MAINNET = "mainnet"
    TESTNET = "testnet"
    LOCALNET = "localnet"


class GmxNetwork(StrEnum):
    ARBITRUM = "arbitrum"
    AVALANCHE = "avalanche"


class FollowerVenue(StrEnum):
    """Where `mirrorbot run`'s followers trade (one process per follower venue)."""

    HYPERLIQUID = "hyperliquid"
    GMX = "gmx"


class LogFormat(StrEnum):
    JSON = "json"
    CONSOLE = "console"


MAX_PASSWORD_BYTES = 4096  # MIRROR_KEYSTORE_PASSWORD_FILE: a password, not a document


def read_password_file(path: Path) -> str:
    """The password in `path` without its line end; read bounded (a device that never ends is refused),
    and nothing of its content is ever quoted in an error."""
    try:
        with path.open("rb") as handle:
            data = handle.read(MAX_PASSWORD_BYTES + 1)
    except OSError as exc:
        raise ValueError(f"cannot read the file: {exc.strerror or type(exc).__name__}") from None
    if len(data) > MAX_PASSWORD_BYTES:
        raise ValueError(f"the file is longer than {MAX_PASSWORD_BYTES} bytes")
    try:
        return data.decode("utf-8").rstrip("\r\n")
    except UnicodeDecodeError:
        raise ValueError("the file is not UTF-8 text") from None


class SettingsError(Exception):
    """A setting is missing or invalid; the message names the variable."""


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix=ENV_PREFIX,
        env_file=".env",
        env_file_encoding="utf-8",
        extra="ignore",
        frozen=True,
    )

    network: Network = Network.LOCALNET
    hl_api_url: str | None = None
    # The request weight this process may spend per minute on Hyperliquid (the venue allows 1200 per IP);
    # raise it only for a venue that imposes no limit, such as the localnet.
    hl_weight_per_minute: int = Field(default=1200, ge=60, le=100_000_000)
    # A Hyperliquid non-validating node's data directory (holding node_fills_by_block/): sources are
    # watched from its fills firehose instead of websockets and polls (docs/firehose.md).
    hl_node_data: Path | None = None
    localnet_host: str = "127.0.0.1"
    localnet_port: int = Field(default=LOCALNET_DEFAULT_PORT, ge=1, le=65535)
    data_dir: Path = Path(".mirrorbot")
    database_url: str | None = None
    # The distributed roles' bus (issue #15, docs/cluster.md): Redis Streams, beside a PostgreSQL ledger.
    # Unset: one process, in-process bus (`mirrorbot run`, the embedded default).
    bus_url: str | None = None
    # Entries kept per bus stream at most (16 shards): what every copy worker acknowledged is trimmed
    # sooner; past this a worker that far behind loses its oldest changes, and that is logged
    # (`bus_backlog_trimmed`; docs/cluster.md "Trimming the streams").
    bus_stream_max_len: int = Field(default=BUS_STREAM_MAX_LEN, ge=100, le=10_000_000)
    log_level: str = "INFO"
    log_format: LogFormat = LogFormat.CONSOLE
    slippage_cap: Decimal = Field(default=Decimal("0.01"), gt=0, lt=1)
    keystore_password: SecretStr | None = None
    # The password in a file instead, so it is in no process environment (systemd's LoadCredential:
    # MIRROR_KEYSTORE_PASSWORD_FILE=%d/keystore_password); MIRROR_KEYSTORE_PASSWORD wins when both are set.
    keystore_password_file: Path | None = None
    telegram_token: SecretStr | None = None
    telegram_api_url: str = "https://api.telegram.org/bot"
    telegram_admins: str = ""
    gmx_rpc_url: str | None = None
    gmx_network: GmxNetwork = GmxNetwork.ARBITRUM
    gmx_deployment_file: Path | None = None  # replaces the packaged deployment (a fork, a testnet)
    gmx_poll_interval_s: float = Field(default=1.0, gt=0)  # how often a GMX source's watch polls
    follower_venue: FollowerVenue = FollowerVenue.HYPERLIQUID  # the venue `mirrorbot run` trades on
    # One `mirrorbot run` per follower venue on a ledger (bot/ledger/lease.py): a runner silent this long
    # is presumed dead and replaced. Above the hosts' clock skew when several share a PostgreSQL ledger.
    lease_stale_s: float = Field(default=30.0, ge=2, le=3600)
    # How often every follower's account is re-read (equity for ρ(now), positions), the reconciliation
    # pass runs (SPEC §6) and the dead-man switch is re-armed. A process holding thousands of followers
    # takes longer than that for one pass: raise them with the count (docs/operations.md, "Schedule").
    accounts_refresh_s: float = Field(default=15.0, ge=1, le=3600)
    reconcile_s: float = Field(default=60.0, ge=5, le=86400)
    dead_man_rearm_s: float = Field(default=60.0, ge=5, le=240)  # below the switch's 300 s horizon
    # The ops port of `mirrorbot run` and of each role (/metrics, /healthz, /readyz; docs/operations.md):
    # off when unset; one per process (several processes on a host: a value each).
    metrics_port: int | None = Field(default=None, ge=1, le=65535)
    metrics_host: str = "127.0.0.1"  # loopback: put a reverse proxy or the Prometheus host's tunnel in front

    @field_validator("hl_api_url", "gmx_rpc_url")
    @classmethod
    def _http_url(cls, value: str | None) -> str | None:
        if value is None or value == "":
            return None
        if not value.startswith(("http://", "https://")):
            raise ValueError("must start with http:// or https://")  # `load_settings` redacts the input
        return value.rstrip("/")

    @field_validator("database_url")
    @classmethod
    def _database_url(cls, value: str | None) -> str | None:
        """The common spellings (`sqlite:///…`, `postgresql://…`, `postgres://…`) in the ledger's
        driver spelling; anything else refused in one line naming the accepted forms."""
        if value is None or not value.strip():
            return None
        try:
            return database_url(value)
        except DatabaseUrlError as exc:
            raise ValueError(str(exc).removeprefix("MIRROR_DATABASE_URL: ")) from None

    @field_validator("hl_node_data")
    @classmethod
    def _node_data(cls, value: Path | None) -> Path | None:
        if value is None or not str(value).strip():
            return None
        if not value.is_dir():
            raise ValueError(
                "must be an existing directory: a Hyperliquid node's data directory, the one holding "
                "node_fills_by_block/"
            )
        return value

    @field_validator("bus_url")
    @classmethod
    def _bus_url(cls, value: str | None, info: ValidationInfo) -> str | None:
        """A redis:// URL, and only beside a PostgreSQL ledger: processes on several hosts share the
        ledger of record and its leases, which a SQLite file cannot be."""
        if value is None or not value.strip():
            return None
        if not value.strip().startswith(("redis://", "rediss://")):
            raise ValueError("must be a redis:// or rediss:// URL (e.g. redis://127.0.0.1:6379/0)")
        db = info.data.get("database_url")
        if "database_url" in info.data and not (isinstance(db, str) and db.startswith("postgresql")):
            raise ValueError(
                "needs a PostgreSQL MIRROR_DATABASE_URL (got SQLite): the distributed roles share the "
                "ledger and its leases; unset MIRROR_BUS_URL to run as one process"
            )
        return value.strip()

    @field_validator("keystore_password_file")
    @classmethod
    def _password_file(cls, value: Path | None) -> Path | None:
        if value is None or not str(value).strip():
            return None
        read_password_file(value)  # refused here, under the variable's name
        return value

    @model_validator(mode="after")
    def _password_from_file(self) -> Settings:
        if self.keystore_password is None and self.keystore_password_file is not None:
            text = read_password_file(self.keystore_password_file)
            object.__setattr__(self, "keystore_password", SecretStr(text) if text else None)  # frozen model
        return self

    @field_validator("log_level")
    @classmethod
    def _log_level(cls, value: str) -> str:
        levels = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")
        if value.upper() not in levels:
            raise ValueError(f"must be one of {', '.join(levels)}")
        return value.upper()

    @field_validator("telegram_admins")
    @classmethod
    def _admins(cls, value: str) -> str:
        for part in filter(None, (p.strip() for p in value.split(","))):
            if not part.lstrip("-").isdigit():
                raise ValueError("must be comma-separated numeric Telegram user ids")
        return value

    @property
    def api_url(self) -> str:
        """The Hyperliquid-compatible venue URL: the override, else the network's."""
        if self.hl_api_url:
            return self.hl_api_url
        if self.network is Network.MAINNET:
            return MAINNET_API_URL
        if self.network is Network.TESTNET:
            return TESTNET_API_URL
        return f"http://{self.localnet_host}:{self.localnet_port}"

    @property
    def is_mainnet(self) -> bool:
        """Signatures use the mainnet domain only against the mainnet URL (as the SDK does)."""
        return self.api_url == MAINNET_API_URL

    @property
    def db_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite+aiosqlite:///{self.data_dir / 'mirrorbot.db'}"

    @property
    def telegram_admin_ids(self) -> frozenset[int]:
        return frozenset(int(p) for p in self.telegram_admins.split(",") if p.strip())


def load_settings(**overrides: object) -> Settings:
    """Read the settings; raise `SettingsError` naming the bad variable(s)."""
    try:
        return Settings(**overrides)  # type: ignore[arg-type]
    except ValidationError as exc:
        problems = []
        for err in exc.errors():
            field = str(err["loc"][0]) if err["loc"] else "?"
            name = ENV_PREFIX + field.upper()
            message = err["msg"]
            if err["type"] == "enum":
                expected = err.get("ctx", {}).get("expected", "")
                message = f"accepted values are {expected}"
            got = "" if "(got " in message else f" (got {err.get('input')!r})"
            problems.append(f"{name}: {message}{got}")
        # A URL's password or API key, a key pasted into the wrong variable: never echoed.
        raise SettingsError(redact_text("invalid setting " + "; ".join(problems))) from None
