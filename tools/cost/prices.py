"""The reviewed price table (`prices.csv`): one row per region and billed item, each with its date and AWS page.

Prices are public list prices in US dollars, read by a person from the page in `source` on `read_on`; nothing here
fetches them. Updating a price, or adding a region, is an edit of that one file. An item a region does not list is
missing, never zero: the estimate shows it as a line of its own.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

PRICES = Path(__file__).resolve().parent / "prices.csv"


@dataclass(frozen=True)
class Price:
    """`usd` for every `per` units of `unit`; `free_per_month` units are free each month (None: no free tier)."""

    region: str
    item: str
    unit: str
    usd: Decimal
    per: Decimal
    free_per_month: Decimal | None
    free_tier: str
    read_on: str
    source: str

    @property
    def per_unit(self) -> Decimal:
        return self.usd / self.per


@dataclass(frozen=True)
class PriceTable:
    prices: dict[tuple[str, str], Price]

    def find(self, region: str, item: str) -> Price | None:
        return self.prices.get((region, item))

    @property
    def regions(self) -> tuple[str, ...]:
        return tuple(sorted({region for region, _ in self.prices}))

    @property
    def read_on(self) -> str:
        """The oldest date a price was read: what the estimate is as recent as."""
        return min(price.read_on for price in self.prices.values())


def load(path: Path = PRICES) -> PriceTable:
    with path.open(encoding="utf-8", newline="") as file:
        rows = list(csv.DictReader(file))
    prices = {}
    for row in rows:
        price = Price(
            region=row["region"],
            item=row["item"],
            unit=row["unit"],
            usd=Decimal(row["usd"]),
            per=Decimal(row["per"]),
            free_per_month=Decimal(row["free_per_month"]) if row["free_per_month"] else None,
            free_tier=row["free_tier"],
            read_on=row["read_on"],
            source=row["source"],
        )
        prices[price.region, price.item] = price
    return PriceTable(prices)
