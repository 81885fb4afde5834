"""The catalog: software, categories, products, prices and quotas, and the lists that show them."""
