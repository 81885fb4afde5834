"""License partners: price lists, orders of licenses, stock, clients and their activations.

pricing prices a line from a price list (integer minor units, bonus tiers); pricelists creates versions and
assigns them; orders holds a partner's draft, its confirmation and the approval or cancellation that happens
once; stock activates and cancels licenses without ever going below zero; codes makes and reads the
authorisation codes; license_check answers the vendor's software whether a code is valid for a client.
"""
