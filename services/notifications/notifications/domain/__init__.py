"""Plain rules of the notifications service: who is told about what (routes), what a message may show
(templates), when and how it goes out (delivery), and the webhook rules (patterns, signatures, retries, URLs).
No database, broker or framework here."""
