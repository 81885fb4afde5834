"""Billing notices: the organisation's preferences ("Preferencias de facturación") and dunning, the jobs that
remind, warn and finally block."""
