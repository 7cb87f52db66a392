"""`make bench`: synth, tests, cold start, per-file cost and image weight, each beside a reference."""
