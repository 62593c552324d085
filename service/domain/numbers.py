"""Numbers with a fraction are exact decimals, end to end.

FEEL numbers are decimals (DMN 1.5, 10.3.2.3.1: IEEE 754 decimal128), and the rules analysts
write compare areas, years and scores with boundaries such as 59.5: as binary floats an input of
0.1 × 3 misses a cell 0.3 and 0.1 + 0.2 sums to 0.30000000000000004. So a number with a fraction
that enters the system — a JSON body, a form field, a decision table cell — is a `Decimal` with
the digits it was written with; whole numbers stay `int`.
"""
from __future__ import annotations

from decimal import Decimal, InvalidOperation

# Beyond this the number is not a quantity anyone means, and a JSON reader (a browser) could not
# hold it: 1e400 is refused, not turned into infinity.
MAX_MAGNITUDE = 300


class NotANumber(ValueError):
    """Text that is no finite number of sensible size."""


def parse_decimal(text: str) -> Decimal:
    """A number as typed or sent ("50.5", "1e3"); ValueError for anything else (NaN, 1e999)."""
    try:
        value = Decimal(text.strip())
    except InvalidOperation:
        raise NotANumber(f"not a number: {text!r}") from None
    if not value.is_finite() or (value and abs(value.adjusted()) > MAX_MAGNITUDE):
        raise NotANumber(f"not a finite number of sensible size: {text!r}")
    return value

