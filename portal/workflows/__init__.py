"""Workflows: work that spans several transactions and commits them itself — the billing run, rendering
invoice PDFs, sending the outbox.

The rule: workflows open their own sessions and commit; services only flush, inside the caller's transaction.
A workflow calls services, never the reverse (services hand work on through `portal.services.hooks`); jobs,
commands and views call workflows.
"""
