"""The domain: verb functions that take and return models, flush but never commit, never read `request`."""
