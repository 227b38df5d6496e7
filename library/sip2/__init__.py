"""SIP2 (3M Standard Interchange Protocol 2.00) for self-check machines and security gates:
``codec`` (the wire), ``handlers`` (one door per message), ``server`` (TCP sessions)."""
