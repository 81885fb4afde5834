"""Brazilian fiscal documents (NF-e, NFC-e) that a client's software sends: read, checked and kept once."""
