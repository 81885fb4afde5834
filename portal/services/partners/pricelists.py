"""Price lists ("Pauta Preço"): created, revised as a new version (the old one superseded, never changed, so
orders priced with it keep their amounts) and assigned to a partner, each step audited."""

from dataclasses import dataclass
from datetime import datetime

from flask_babel import lazy_gettext as _l

from portal.extensions import db
from portal.models import Organisation, Product, User
from portal.models.catalog import CURRENCIES
from portal.models.partners import PartnerOrder, PriceList, PriceListItem
from portal.services import audit
from portal.services.errors import DomainError

MAX_AMOUNT = 10**12
MAX_TIERS = 10


@dataclass(frozen=True)
class ItemSpec:
    product: Product
    unit_monthly: int
    setup_fee: int = 0
    users_per_license: int = 1
    bonus_tiers: tuple[tuple[int, int], ...] = ()


def _check(name: str, currency: str, items: list[ItemSpec]) -> str:
    name = " ".join((name or "").split())
    if not name or len(name) > 120:
        raise DomainError(_l("Give the price list a name (at most 120 characters)."), code="invalid_name",
                          field="name")
    if currency not in CURRENCIES:
        raise DomainError(_l("Choose one of the offered currencies."), code="invalid_currency", field="currency")
    if not items:
        raise DomainError(_l("A price list needs at least one product."), code="no_items", field="items")
    if len({item.product.id for item in items}) != len(items):
        raise DomainError(_l("Each product can appear only once in a price list."), code="duplicate_product",
                          field="items")
    for item in items:
        for amount in (item.unit_monthly, item.setup_fee):
            if isinstance(amount, bool) or not isinstance(amount, int) or not 0 <= amount < MAX_AMOUNT:
                raise DomainError(_l("Amounts must be whole numbers of cents from 0 up."), code="invalid_amount",
                                  field="items")
        if not isinstance(item.users_per_license, int) or not 1 <= item.users_per_license <= 10_000:
            raise DomainError(_l("Users per license must be from 1 to 10,000."), code="invalid_users",
                              field="items")
        check_tiers(item.bonus_tiers)
    return name


def check_tiers(tiers, field: str = "items") -> None:
    """At most ten tiers, each a minimum bought (1 to 10,000) and the free licenses it gives (1 up to that
    minimum); one tier per minimum, and a higher minimum never gives fewer free licenses."""
    if len(tiers) > MAX_TIERS:
        raise DomainError(_l("A product can have at most %(max)s bonus tiers.", max=MAX_TIERS), code="invalid_tiers",
                          field=field)
    ordered = sorted(tiers)
    for minimum, free in ordered:
        if (any(isinstance(n, bool) or not isinstance(n, int) for n in (minimum, free))
                or not 1 <= minimum <= 10_000 or not 1 <= free <= minimum):
            raise DomainError(_l("Each bonus tier is a minimum quantity of at least 1 and the free licenses it "
                                 "gives, from 1 up to that minimum."), code="invalid_tiers", field=field)
    if len({minimum for minimum, _free in ordered}) != len(ordered):
        raise DomainError(_l("Each minimum quantity can have only one bonus tier."), code="duplicate_tier",
                          field=field)
    if any(later[1] < earlier[1] for earlier, later in zip(ordered, ordered[1:], strict=False)):
        raise DomainError(_l("A higher minimum quantity cannot give fewer free licenses."), code="invalid_tiers",
                          field=field)


def check_currency(currency: str, partner: Organisation) -> None:
    """A partner's list is in the currency the partner is billed in: its orders and setup invoices are."""
    if currency != partner.currency:
        raise DomainError(_l("%(partner)s is billed in %(billed)s: its price list must be in %(billed)s, not "
                             "%(currency)s.", partner=partner.name, billed=partner.currency, currency=currency),
                          code="currency_mismatch", field="currency")


def _items(items: list[ItemSpec]) -> list[PriceListItem]:
    return [PriceListItem(product_id=item.product.id, unit_monthly=item.unit_monthly, setup_fee=item.setup_fee,
                          users_per_license=item.users_per_license,
                          bonus_tiers=[[minimum, free] for minimum, free in sorted(item.bonus_tiers)])
            for item in items]


def create_price_list(name: str, currency: str, items: list[ItemSpec], now: datetime,
                      partner: Organisation | None = None, actor: User | None = None) -> PriceList:
    name = _check(name, currency, items)
    if partner is not None and partner.kind != "partner":
        raise DomainError(_l("Choose a partner."), code="invalid_partner", field="partner")
    if partner is not None:
        check_currency(currency, partner)
    price_list = PriceList(name=name, currency=currency, partner_id=partner.id if partner else None, version=1,
                           created_at=now, items=_items(items))
    db.session.add(price_list)
    db.session.flush()
    price_list.lineage = price_list.id
    _supersede_others(price_list, now)
    db.session.flush()
    audit.record("price_list_created", actor=actor, obj=price_list,
                 details={"name": name, "partner_id": price_list.partner_id, "items": len(items)})
    return price_list


def _supersede_others(price_list: PriceList, now: datetime) -> None:
    """One list in force per partner (and one default): the others are superseded."""
    owner = (PriceList.partner_id == price_list.partner_id if price_list.partner_id is not None
             else PriceList.partner_id.is_(None))
    for other in db.session.scalars(db.select(PriceList).where(owner, PriceList.superseded_at.is_(None),
                                                                PriceList.id != price_list.id)):
        other.superseded_at = now


def revise(price_list: PriceList, name: str, items: list[ItemSpec], now: datetime, actor: User | None = None,
           currency: str | None = None) -> PriceList:
    """A new version of `price_list` with these items; the old one stays as it was, superseded. The version's
    row is locked first, so two people saving at once make one new version, and the second is told."""
    if currency is not None and currency != price_list.currency:
        raise DomainError(_l("A new version keeps the list's currency (%(currency)s). For another currency, "
                             "create a new price list.", currency=price_list.currency), code="currency_mismatch",
                          field="currency")
    db.session.flush()
    db.session.execute(db.select(PriceList.id).where(PriceList.id == price_list.id).with_for_update())
    db.session.refresh(price_list, ["superseded_at"])
    if price_list.superseded_at is not None:
        raise DomainError(_l("This version was already replaced: edit the current one."), code="superseded",
                          status=409)
    name = _check(name, price_list.currency, items)
    new = PriceList(lineage=price_list.lineage, version=price_list.version + 1, name=name,
                    currency=price_list.currency, partner_id=price_list.partner_id, created_at=now,
                    items=_items(items))
    price_list.superseded_at = now
    db.session.add(new)
    db.session.flush()
    audit.record("price_list_revised", actor=actor, obj=new,
                 details={"from_version": price_list.version, "version": new.version, "items": len(items)})
    return new


def assign(price_list: PriceList, partner: Organisation, now: datetime, actor: User | None = None) -> PriceList:
    """Make a copy of the list the partner's own (a new lineage), replacing the one it had."""
    if partner.kind != "partner":
        raise DomainError(_l("Choose a partner."), code="invalid_partner", field="partner")
    check_currency(price_list.currency, partner)
    specs = [ItemSpec(item.product, item.unit_monthly, item.setup_fee, item.users_per_license,
                      tuple(tuple(tier) for tier in item.bonus_tiers)) for item in price_list.items]
    assigned = create_price_list(price_list.name, price_list.currency, specs, now, partner=partner, actor=actor)
    audit.record("price_list_assigned", actor=actor, organisation=partner, obj=assigned,
                 details={"from_price_list_id": price_list.id})
    return assigned


def versions(price_list: PriceList) -> list[PriceList]:
    """Every version of the list, newest first."""
    return list(db.session.scalars(db.select(PriceList).where(PriceList.lineage == price_list.lineage)
                                   .order_by(PriceList.version.desc())))


def price_list(price_list_id: int) -> PriceList | None:
    return db.session.scalar(
        db.select(PriceList).where(PriceList.id == price_list_id)
        .options(db.selectinload(PriceList.items).joinedload(PriceListItem.product), db.joinedload(PriceList.partner)))


def orders_priced_with(price_list: PriceList) -> int:
    """How many confirmed orders were priced with this version (they keep it whatever comes next)."""
    return db.session.scalar(db.select(db.func.count(PartnerOrder.id)).where(
        PartnerOrder.price_list_id == price_list.id, PartnerOrder.status != "draft"))


def current_lists() -> list[PriceList]:
    return list(db.session.scalars(
        db.select(PriceList).where(PriceList.superseded_at.is_(None))
        .options(db.selectinload(PriceList.items).joinedload(PriceListItem.product), db.joinedload(PriceList.partner))
        .order_by(PriceList.partner_id.is_not(None), PriceList.name)).unique())
