"""Organisations, users, memberships and the audit log of the large data set."""

import hashlib
from datetime import timedelta

from argon2 import PasswordHasher
from stdnum.br import cnpj
from stdnum.cl import rut
from stdnum.mx import rfc

from bench.dataset import BENCH_PASSWORD, BENCH_USERS, Context, skewed_weights, spread
from portal.models import AuditEvent, Membership, Organisation, User
from portal.services.accounts.organisations import COUNTRY_DEFAULTS
from portal.text import search_text

COUNTRIES = ("CL", "BR", "MX")
COUNTRY_WEIGHTS = (50, 30, 20)
PHONE = {"CL": "+56 9", "BR": "+55 11", "MX": "+52 55"}
SUFFIX = {"CL": ("SpA", "Ltda.", "S.A.", "EIRL"), "BR": ("Ltda", "ME", "S.A.", "EIRELI"),
          "MX": ("S.A. de C.V.", "S. de R.L.", "S.A.P.I.", "S.C.")}
TRADES = {
    "customer": ("Panadería", "Ferretería", "Farmacia", "Librería", "Transportes", "Comercial", "Distribuidora",
                 "Constructora", "Minimarket", "Botillería", "Padaria", "Mercado", "Abarrotes", "Taller",
                 "Clínica", "Restaurante", "Óptica", "Veterinaria", "Inmobiliaria", "Imprenta"),
    "reseller": ("Contadores", "Contabilidade", "Asesorías Contables", "Escritório Contábil", "Despacho Contable"),
    "partner": ("Soluciones", "Tecnologia", "Sistemas", "Informática", "Integradora"),
}
PLACES = ("Los Aromos", "El Roble", "Horizonte", "del Sur", "Andina", "Pacífico", "Aurora", "San Martín",
          "Las Palmas", "Central", "Norte Grande", "Bela Vista", "Ipiranga", "Guadalupe", "La Esperanza",
          "Santa Fe", "Del Valle", "O'Higgins", "Paulista", "Juárez", "Maipú", "Itaú", "Reforma", "Libertad")
FIRST = ("Javiera", "Tomás", "João", "María", "Ana", "Paulo", "Felipe", "Carla", "Diego", "Isidora", "Camila",
         "Rodrigo", "Valentina", "Lucas", "Fernanda", "José", "Sofía", "Matías", "Beatriz", "Ricardo")
LAST = ("Muñoz", "Pérez", "Carvalho", "Hernández", "Lima", "Ribeiro", "Araya", "Souza", "Alves", "Vargas",
        "Soto", "Fuentes", "Rojas", "González", "Silva", "Santos", "López", "Martínez", "Oliveira", "Díaz")
ACTIONS = ("login", "login", "login", "login", "logout", "invitation_sent", "invitation_accepted",
           "password_changed", "role_switch", "password_reset_requested")


def tax_id_for(country: str, n: int) -> str:
    """A valid, unique tax id for the n-th organisation of a country (compact form, as the portal stores it)."""
    if country == "CL":
        number = str(76_000_000 + n)
        return number + rut.calc_check_digit(number)
    if country == "BR":
        base = f"{10_000_000 + n:08d}0001"
        return base + cnpj.calc_check_digits(base)
    letters = "ABCDEFGHJKLMNPRSTUVWXYZ"
    a, b, c = n % 23, (n // 23) % 23, (n // 529) % 23
    year, day = 90 + (n // 12167) % 10, 1 + n % 28
    base = f"{letters[a]}{letters[b]}{letters[c]}{year:02d}01{day:02d}{letters[(n // 7) % 23]}{n % 10}"
    return base + rfc.calc_check_digit(base)


def _organisations(ctx: Context, rng, kind: str, count: int, first_id: int, serial: dict, advisors: list[int]):
    """Rows of `count` organisations of `kind`; the first of each kind is the bench organisation."""
    rows = []
    countries = rng.choices(COUNTRIES, weights=COUNTRY_WEIGHTS, k=count)
    countries[0] = "CL"
    for i in range(count):
        country = countries[i]
        currency, timezone, locale = COUNTRY_DEFAULTS[country]
        serial[country] += 1
        trade_name = f"{rng.choice(TRADES[kind])} {rng.choice(PLACES)}" if i else f"Bench {kind.title()}"
        name = f"{trade_name} {rng.choice(SUFFIX[country])}"
        trade = trade_name if rng.random() < 0.5 else None
        tax_id, phone = tax_id_for(country, serial[country]), f"{PHONE[country]} {rng.randrange(10**7, 10**8)}"
        address = f"{rng.choice(PLACES)} {rng.randrange(1, 3000)}"
        blocked = bool(i) and rng.random() < 0.03
        advisor_id = rng.choice(advisors) if kind == "customer" else None
        created_at = ctx.today - timedelta(days=rng.randrange(1, 3 * 365))
        rows.append({
            "id": first_id + i, "kind": kind, "name": name, "trade_name": trade, "country": country,
            "tax_id": tax_id, "timezone": timezone, "currency": currency, "locale": locale, "phone": phone,
            "address": address, "status": "blocked" if blocked else "active",
            # A blocked organisation says why and since when (the models' check): blocked by staff, here.
            "blocked_reason": "staff" if blocked else None, "blocked_at": created_at if blocked else None,
            "reseller_id": None, "advisor_id": advisor_id, "created_at": created_at,
        })
    return rows


def generate_accounts(ctx: Context) -> None:
    """The vendor, customers (the bench reseller's 5,000 at scale 1 and 40 % of the others linked to resellers),
    resellers, partners; their people."""
    rng = ctx.rng("accounts")
    # Hashed once (Argon2 is slow on purpose), with the portal's parameters and a salt from the seed.
    salt = hashlib.sha256(f"bench:{ctx.seed}".encode()).digest()[:16]
    password_hash = PasswordHasher().hash(BENCH_PASSWORD, salt=salt)
    users: list[dict] = []
    memberships: list[dict] = []
    members_of: dict[int, list[int]] = {}

    def person(org_id: int, role: str, email: str | None = None) -> int:
        user_id = len(users) + 1
        first, last = rng.choice(FIRST), rng.choice(LAST)
        users.append({
            "id": user_id, "email": email or f"{first.lower()}.{user_id}@org{org_id}.example",
            "name": f"{first} {last}", "password_hash": password_hash, "locale": None, "is_active": True,
            "session_token": f"{rng.getrandbits(128):032x}", "last_login_at": None,
            "created_at": ctx.today - timedelta(days=rng.randrange(1, 3 * 365)),
        })
        memberships.append({"id": len(memberships) + 1, "user_id": user_id, "organisation_id": org_id,
                            "role": role, "created_at": users[-1]["created_at"],
                            "accepted_at": users[-1]["created_at"]})
        members_of.setdefault(org_id, []).append(user_id)
        return user_id

    vendor_id, serial = 1, dict.fromkeys(COUNTRIES, 0)
    staff = ctx.count("staff")
    roles = ["admin", "billing", "advisor"] + [rng.choice(("advisor", "advisor", "billing")) for _ in range(staff)]
    advisors = []
    for i, role in enumerate(roles):
        user_id = person(vendor_id, role, BENCH_USERS[("vendor", role)] if i < 3 else None)
        if role == "advisor":
            advisors.append(user_id)

    counts = {kind: ctx.count(kind + "s") for kind in ("customer", "reseller", "partner")}
    first = {"customer": 2}
    first["reseller"] = first["customer"] + counts["customer"]
    first["partner"] = first["reseller"] + counts["reseller"]
    vendor = {"id": vendor_id, "kind": "vendor", "name": "Vitrine Software SpA", "trade_name": "Vitrine",
              "country": "CL", "tax_id": tax_id_for("CL", 0), "timezone": "America/Santiago", "currency": "CLP",
              "locale": "es", "phone": "+56 2 2345 6789", "address": "Av. Providencia 1208, Santiago",
              "status": "active", "reseller_id": None, "advisor_id": None,
              "created_at": ctx.today - timedelta(days=3 * 365)}
    organisations = [vendor]
    for kind in ("customer", "reseller", "partner"):
        organisations += _organisations(ctx, rng, kind, counts[kind], first[kind], serial, advisors)

    # 40 % of the other customers are looked after by a reseller; a few resellers have many clients.
    customers = organisations[1:1 + counts["customer"]]
    reseller_ids = [first["reseller"] + i for i in range(counts["reseller"])]
    reseller_weights = skewed_weights(len(reseller_ids))
    # The bench reseller looks after BASE_COUNTS["bench_reseller_clients"] of them (5,000 at scale 1: its list's
    # search, filters and pages run over that many), the first customers by id.
    bench_clients = min(ctx.count("bench_reseller_clients"), len(customers))
    for index, org in enumerate(customers):
        if index < bench_clients:
            org["reseller_id"] = reseller_ids[0]
        elif rng.random() < 0.4:
            org["reseller_id"] = rng.choices(reseller_ids, cum_weights=reseller_weights)[0]

    bench_org = {kind: first[kind] for kind in ("customer", "reseller", "partner")} | {"vendor": vendor_id}
    extra_roles = {"customer": ("member", (0, 0, 1, 1, 1, 2, 3)), "reseller": ("accountant", (1, 1, 2, 3)),
                   "partner": ("seller", (1, 2, 3))}
    admin_role = {"customer": "admin", "reseller": "manager", "partner": "admin"}
    for org in organisations[1:]:
        kind = org["kind"]
        bench = org["id"] == bench_org[kind]
        person(org["id"], admin_role[kind], BENCH_USERS[(kind, admin_role[kind])] if bench else None)
        role, choices = extra_roles[kind]
        extra = 12 if bench else rng.choice(choices)
        for j in range(extra):
            person(org["id"], role, BENCH_USERS[(kind, role)] if bench and j == 0 else None)

    ctx.insert(User, users)
    for org in organisations:
        org["search_name"] = search_text(org["name"], org["trade_name"])
    # Resellers before the customers that point at them: foreign keys are checked row by row.
    ctx.insert(Organisation, sorted(organisations, key=lambda o: o["kind"] == "customer"))
    ctx.insert(Membership, memberships)
    ctx.made.update(
        organisations={o["id"]: (o["kind"], o["country"], o["currency"], o["locale"], o["reseller_id"], o["name"],
                                 o["tax_id"]) for o in organisations},
        customer_ids=[o["id"] for o in customers], reseller_ids=reseller_ids,
        partner_ids=[first["partner"] + i for i in range(counts["partner"])],
        members_of=members_of, bench_org=bench_org, vendor_id=vendor_id,
    )


def generate_audit(ctx: Context) -> None:
    """The audit log: mostly logins, spread over 180 days, busiest in the bench organisations."""
    rng = ctx.rng("audit")
    members_of = ctx.made["members_of"]
    org_ids = [ctx.made["vendor_id"]] + ctx.made["customer_ids"] + ctx.made["reseller_ids"] + ctx.made["partner_ids"]
    # The bench organisations come first: they are the busiest ranks of the skew.
    bench = list(ctx.made["bench_org"].values())
    bench_set = set(bench)
    org_ids = bench + [org for org in org_ids if org not in bench_set]
    per_org = spread(rng, ctx.count("audit_events"), len(org_ids), cum_weights=skewed_weights(len(org_ids)))
    horizon = 180 * 86_400
    events = []
    for org_id, n in zip(org_ids, per_org, strict=True):
        people = members_of[org_id]
        for _ in range(n):
            events.append((rng.randrange(horizon), org_id, rng.choice(people), rng.choice(ACTIONS)))
    events.sort()  # ids grow with time, as they do when the portal writes them
    start = ctx.today - timedelta(seconds=horizon)

    def rows():
        for i, (offset, org_id, actor, action) in enumerate(events, start=1):
            yield {"id": i, "at": start + timedelta(seconds=offset), "actor_id": actor, "organisation_id": org_id,
                   "action": action, "object_type": "user", "object_id": str(actor), "details": {},
                   "address": f"10.{i % 250}.{(i // 250) % 250}.{i % 200 + 1}"}

    ctx.insert(AuditEvent, rows())
