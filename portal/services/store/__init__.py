"""The customer store: what an organisation can buy (offers, in the catalog's rows), its users' carts priced
as the subscription service will charge them, and activating a cart in one confirmation.

offers reads the catalog for one organisation; carts keeps and prices each user's cart; activation turns a
cart into subscription changes, once per idempotency key.
"""
