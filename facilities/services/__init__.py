"""Facility rules, one module per concern. No flask here: actor, now and settings come in."""
