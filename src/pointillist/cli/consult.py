"""Consultation commands: screen, plan, demo (being written)."""
