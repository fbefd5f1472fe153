"""The outbox: events for the creditor's systems, written in the same transaction as what they describe,
and a worker that delivers them to a signed webhook (at least once; the receiver drops repeats by key)."""
