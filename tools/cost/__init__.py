"""What the app costs a month: the synthesized templates priced for a usage profile (`make cost`).

- `assembly`: the billed resources, read from cdk.out's templates;
- `profile`: the usage (files a day, sizes, share sent as links), from the command line;
- `prices`: the reviewed, dated price table per region (prices.csv);
- `estimate`: one row per billed item, money in Decimal;
- `report`: the terminal table, the Markdown of docs/cost.md and the plan's one line (`fixed_monthly_line`).
"""

# Makes the function's `inbox_mailer` package importable: the metric names are read from its contract.
import stacks  # noqa: F401
