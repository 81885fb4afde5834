"""Resellers: the client companies they look after (list, search, contract status, who pays)."""
