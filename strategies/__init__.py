"""Pure sizing and decision code (no I/O, no clock, no floats): see docs/decisions/engine.md.

`engine.Follower` is the entry point; `mirror` holds the spec's state machine, `orders` the
orders-from-targets step, `guards` the pre-trade caps, `num` the exact arithmetic and venue rounding.
"""
