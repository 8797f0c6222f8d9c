"""How long a poller should wait before its next status call, given X's rate-limit headers.

The calls left in the window are spread evenly over the time left in it, so a ``basic``-tier
app (5 GETs / 15 min) polls about every 3 minutes and a ``pro`` one (150 / 15 min) every 6 s,
without either ever running into a 429.
"""

from __future__ import annotations

from x_compliance.hooks.responses import RateLimit

# A second of slack past X's reset time: clocks and windows are never exactly aligned.
RESET_SLACK_SECONDS = 1.0


def next_poll_delay(rate_limit: RateLimit | None, *, floor: float, ceiling: float) -> float:
    """Seconds to wait before the next call: at least ``floor``, at most ``ceiling``."""
    if rate_limit is None:
        return max(floor, 0.0)
    to_reset = rate_limit.seconds_to_reset + RESET_SLACK_SECONDS
    if rate_limit.remaining <= 0:
        paced = to_reset
    else:
        # Keep one call in hand for whoever else shares this app's budget (a retry, a sensor).
        spread_over = max(rate_limit.remaining - 1, 0)
        paced = to_reset if spread_over == 0 else to_reset / spread_over
    return min(max(paced, floor), max(ceiling, floor))
