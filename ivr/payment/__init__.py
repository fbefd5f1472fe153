"""How a debtor pays: payment policy, PIX BR Codes, and the payment instruction sent through the outbox."""
