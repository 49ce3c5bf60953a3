"""What `{"type":"stats"}` reports: every /exchange request received, in arrival order, and (asked with
`"info": true`) how many /info requests of each type were answered (a test's proof that a client read,
or did not read, something over HTTP).

The request path only appends references (receive time, signer, account, the action dict, the
response); turning them into a report — action type, cloids, outcome — happens when stats are read,
so recording stays cheap for latency benchmarks.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import Any


@dataclass(slots=True)
class ExchangeRecord:
    recv_ns: int  # time.time_ns() when the request arrived, before any processing
    signer: str | None = None
    user: str | None = None
    action: dict[str, Any] | None = None
    nonce: int | None = None
    http_status: int = 200
    response: Any = None  # the JSON body answered (dict) or the plain-text error

    def to_json(self) -> dict[str, Any]:
        action_type = self.action.get("type") if self.action is not None else None
        return {
            "recvNs": self.recv_ns,
            "signer": self.signer,
            "user": self.user,
            "action": action_type,
            "cloids": cloids_of(self.action) if self.action is not None else [],
            "nonce": self.nonce,
            "httpStatus": self.http_status,
            **outcome_of(self.http_status, self.response),
            # scheduleCancel: the time asked for (None unsets), so tests can check the dead-man switch
            **(
                {"scheduleCancelMs": (self.action or {}).get("time")}
                if action_type == "scheduleCancel"
                else {}
            ),
        }


def cloids_of(action: dict[str, Any]) -> list[str]:
    """The client order ids an action names (placed, modified or cancelled)."""
    kind = action.get("type")
    found: list[Any] = []
    if kind == "order":
        found = [order.get("c") for order in action.get("orders", ()) if isinstance(order, dict)]
    elif kind == "cancelByCloid":
        found = [cancel.get("cloid") for cancel in action.get("cancels", ()) if isinstance(cancel, dict)]
    elif kind == "modify":
        order = action.get("order")
        found = [order.get("c") if isinstance(order, dict) else None]
    elif kind == "batchModify":
        for modify in action.get("modifies", ()):
            order = modify.get("order") if isinstance(modify, dict) else None
            found.append(order.get("c") if isinstance(order, dict) else None)
    return [cloid for cloid in found if isinstance(cloid, str)]


def outcome_of(http_status: int, response: Any) -> dict[str, Any]:
    """`outcome` is `ok` (every order status fine), `rejected` (accepted request, some order refused),
    `err` (whole request refused), `http<code>` (answered with an HTTP error); `error` holds the text."""
    if http_status != 200:
        return {"outcome": f"http{http_status}", "error": response if isinstance(response, str) else None}
    if not isinstance(response, dict):
        return {"outcome": "err", "error": None}
    if response.get("status") != "ok":
        body = response.get("response")
        return {"outcome": "err", "error": body if isinstance(body, str) else None}
    payload = response.get("response")
    data = payload.get("data") if isinstance(payload, dict) else None
    statuses = data.get("statuses") if isinstance(data, dict) else None
    if not isinstance(statuses, list):
        return {"outcome": "ok", "error": None}
    errors = [s["error"] for s in statuses if isinstance(s, dict) and isinstance(s.get("error"), str)]
    return {
        "outcome": "rejected" if errors else "ok",
        "error": "; ".join(errors) if errors else None,
        "statuses": statuses,
    }


class ExchangeStats:
    def __init__(self) -> None:
        self._records: list[ExchangeRecord] = []
        self.info_requests: Counter[str] = Counter()  # by request type: answered ones only (known types)

    def open(self, recv_ns: int) -> ExchangeRecord:
        record = ExchangeRecord(recv_ns)
        self._records.append(record)
        return record

    def report(self, since: int = 0) -> list[dict[str, Any]]:
        return [record.to_json() for record in self._records[since:]]

    def __len__(self) -> int:
        return len(self._records)

    def clear(self) -> None:
        self._records.clear()
        self.info_requests.clear()
