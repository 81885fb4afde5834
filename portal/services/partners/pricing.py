"""A line's amounts from a price list item, in integer minor units: the bonus of the highest tier reached,
the users, the monthly total (licenses paid × unit price) and the setup fee (per license paid, once)."""

from dataclasses import dataclass

from portal.models.partners import PriceListItem


@dataclass(frozen=True)
class LinePrice:
    quantity: int
    bonus: int
    users: int
    unit_monthly: int
    setup_fee: int
    monthly_total: int
    setup_total: int

    @property
    def total_quantity(self) -> int:
        return self.quantity + self.bonus

    @property
    def total_with_setup(self) -> int:
        return self.monthly_total + self.setup_total


def bonus_for(tiers, quantity: int) -> int:
    """Free licenses for `quantity` bought: those of the highest tier whose minimum it reaches (0 below all)."""
    reached = [free for minimum, free in tiers or [] if quantity >= minimum]
    return max(reached, default=0)


def price_line(item: PriceListItem, quantity: int, additional: bool = False) -> LinePrice:
    """A purchase of `quantity` licenses, or (additional) of `quantity` more users for licenses in stock: users
    are sold one by one, with no bonus and no setup fee."""
    if additional:
        return LinePrice(quantity, 0, quantity, item.unit_monthly, 0, quantity * item.unit_monthly, 0)
    bonus = bonus_for(item.bonus_tiers, quantity)
    return LinePrice(quantity=quantity, bonus=bonus, users=(quantity + bonus) * item.users_per_license,
                     unit_monthly=item.unit_monthly, setup_fee=item.setup_fee,
                     monthly_total=quantity * item.unit_monthly, setup_total=quantity * item.setup_fee)
