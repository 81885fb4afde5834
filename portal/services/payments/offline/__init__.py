"""Offline payment methods: references paid elsewhere (boleto, Pix, OXXO, bank transfer) and their statements."""
