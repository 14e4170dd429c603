"""Pure functions behind the metrics: no state, no I/O, easy to test against closed forms."""
