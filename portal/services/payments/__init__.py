"""Payments: the gateway interface, its card and offline methods, and what they record."""
