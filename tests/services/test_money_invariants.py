"""QUALITY.md R2: the money invariants hold through 24 simulated months of random changes.

A Hypothesis state machine walks one customer at a time through a fake clock: the billing sweep runs as time
passes, and in between the customer changes quantities, adds and removes a module, changes plan, reports
usage, suspends, resumes and pays — by hand, by card, from its wallet after adding funds — and has payments
refunded, to the card or to the wallet. Beside it a second customer pays by itself: its renewals from the wallet
first, then its auto-pay card (which may start declining, and is then tried again on the schedule), and its wallet
tops itself up when a spend leaves it under its threshold; either customer may change those settings, spend from
its wallet or add funds. After every step, for every organisation:

- every document's total is the sum of its lines (net + tax, line by line);
- the ledger balances: what was invoiced, less what was paid, less what was credited, is what is still due,
  and nothing is ever due below zero;
- with payments: invoiced − paid (net of refunds) − credited − settled by hand is what is still due, no
  invoice is paid beyond its total, a payment's refunds add up to what it says was refunded, each backed by
  a credit note of the same amount, and the wallet's balance is the sum of its ledger and never below zero;
- an auto-recharge answers one fall of the wallet, once;
- a subscription has at most one recurring charge per product and period;
- invoice numbers run without gaps per series;
- a prorated charge is the product's price for the days left in the period, within one minor unit;
- the estimate of each live subscription's next invoice (services/billing/estimate.py, what the billing overview
  shows), taken just before time passes, is the invoice the sweep then issues for that period — line by line, its
  tax and its total, to the minor unit — and its closing does what the estimate said (renewed, activated,
  suspended, cancelled); a subscription the estimate expects nothing of gets nothing.
"""

from datetime import datetime, timedelta
from fractions import Fraction

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)

from portal.extensions import db
from portal.models import (
    Invoice,
    InvoiceLine,
    Organisation,
    Payment,
    PaymentMethod,
    Refund,
    Subscription,
    SubscriptionCharge,
    SubscriptionEvent,
    WalletEntry,
    WalletSettings,
)
from portal.services.billing import credit_notes, estimate, invoicing, usage
from portal.services.billing import subscriptions as subs
from portal.services.billing.rules import PriceBook, add_months, period_key
from portal.services.errors import DomainError
from portal.services.payments import checkout, refunds, suspension, wallet
from portal.workflows import auto_pay as auto_pay_flow
from portal.workflows import payments as payment_flow
from portal.workflows import refunds as refund_flow
from portal.workflows.billing_run import run_sweep
from tests import factories
from tests.services.billing_helpers import JAN
from tests.services.payments.helpers import make_card

MONTHS = 24
END = add_months(JAN, MONTHS)
LINE_FIELDS = ("kind", "description", "product_id", "quantity", "unit_amount", "amount", "tax_rate_bp",
               "tax_amount", "total")


def _days(start: datetime, end: datetime) -> int:
    return (end.date() - start.date()).days


class Billing(RuleBasedStateMachine):
    """One customer's subscription over 24 months; `catalog` is set by the test."""

    catalog = None

    @initialize(period=st.sampled_from(["monthly", "monthly", "annual"]), trial=st.sampled_from([0, 0, 14]),
                users=st.integers(0, 3))
    def start(self, period, trial, users):
        self.org = factories.make_org("customer", "CL")
        self.now = JAN
        self.event_number = 0
        items = [(self.catalog.user, users)] if users else []
        self.sub = subs.start_subscription(self.org, self.catalog.basic, "CLP", period, self.now, trial_days=trial,
                                           items=items)
        self.card_id = make_card(self.org).id
        self.keys = 0
        # The customer that pays by itself: wallet first, then the card; the wallet tops itself up.
        self.other = factories.make_org("customer", "CL")
        self.other_sub = subs.start_subscription(self.other, self.catalog.basic, "CLP", "monthly", self.now,
                                                 items=[(self.catalog.user, 2)])
        self.other_card_id = make_card(self.other).id
        db.session.add(WalletSettings(organisation_id=self.other.id, pay_from_wallet=True, auto_recharge=True,
                                      recharge_threshold=20_000, recharge_amount=50_000))
        wallet.add_entry(self.other, "top_up", 30_000, self.now)
        db.session.commit()
        self.accounts = [(self.org.id, self.card_id), (self.other.id, self.other_card_id)]

    # Time passes: the sweep closes whatever periods ended.

    @precondition(lambda self: self.now < END)
    @rule(days=st.integers(1, 75))
    def time_passes(self, days):
        self.now = min(self.now + timedelta(days=days), END)
        self._sweep(self.now)

    def _sweep(self, now: datetime) -> None:
        """Run the sweep at `now`, holding it to the estimates of the next invoices taken just before."""
        org_ids = self._org_ids()
        if getattr(self, "book", None) is None:  # the catalog's prices do not change here: read them once
            self.book = PriceBook.load()
        estimates = {sub_id: found for org_id in org_ids
                     for sub_id, found in estimate.next_invoices(org_id, self.book).items()}
        subscriptions = db.session.scalars(db.select(Subscription.id).where(
            Subscription.organisation_id.in_(org_ids))).all()
        last_event = db.session.scalar(db.select(db.func.coalesce(db.func.max(SubscriptionEvent.id), 0)))
        last_invoice = db.session.scalar(db.select(db.func.coalesce(db.func.max(Invoice.id), 0)))
        db.session.commit()
        run_sweep(now, render_pdfs=False)
        db.session.expire_all()
        closed = db.session.scalars(db.select(SubscriptionEvent).where(
            SubscriptionEvent.subscription_id.in_(subscriptions), SubscriptionEvent.id > last_event,
            SubscriptionEvent.action.in_(("activated", "renewed", "suspended", "cancelled")))
            .order_by(SubscriptionEvent.id)).all()
        issued = {invoice.period_key: invoice for invoice in db.session.scalars(db.select(Invoice).where(
            Invoice.subscription_id.in_(subscriptions), Invoice.kind == "invoice", Invoice.id > last_invoice))}
        for sub_id in subscriptions:
            first = next((event for event in closed if event.subscription_id == sub_id), None)
            self._as_estimated(sub_id, estimates.get(sub_id), now, first, issued)

    @staticmethod
    def _as_estimated(sub_id: int, expected, now: datetime, first, issued: dict) -> None:
        """The first period the sweep closed of `sub_id` (`first`, its event) closed as `expected` said."""
        if expected is None or expected.on_hold or expected.issue_at > now:
            # Not live (suspended, cancelled), or its period has not ended: the sweep leaves it alone.
            assert first is None, (sub_id, expected, first.action)
            assert not any(invoice.subscription_id == sub_id for invoice in issued.values())
            return
        assert first is not None, f"the estimate expected subscription {sub_id} to close at {expected.issue_at}"
        assert first.action == expected.action, (first.action, expected.action)
        invoice = issued.get(period_key(sub_id, expected.issue_at))
        if not expected.lines:
            assert invoice is None and first.invoice_id is None, "invoiced what the estimate said would not be"
            return
        assert invoice is not None and first.invoice_id == invoice.id, "the estimated invoice was not issued"
        assert [tuple(line[name] for name in LINE_FIELDS) for line in expected.lines] == [
            tuple(getattr(line, name) for name in LINE_FIELDS) for line in invoice.lines]
        assert (expected.currency, expected.subtotal, expected.tax_total, expected.total) == (
            invoice.currency, invoice.subtotal, invoice.tax_total, invoice.total)

    # What the customer does in between. A refusal (DomainError) must leave nothing written.

    def _attempt(self, change) -> None:
        before = self._snapshot()
        try:
            change()
        except DomainError:
            db.session.rollback()
            assert self._snapshot() == before, "a refused change wrote something"
        else:
            db.session.commit()
        db.session.expire_all()

    def _snapshot(self):
        return (db.session.scalar(db.select(db.func.count(Invoice.id))),
                db.session.scalar(db.select(db.func.count(SubscriptionCharge.id))))

    @rule(quantity=st.integers(0, 6))
    def change_users(self, quantity):
        sub, unit_product = self.sub, self.catalog.user
        before = next((item.quantity for item in sub.items if item.product_id == unit_product.id), 0)
        period = (sub.current_period_start, sub.current_period_end, sub.status)
        charges_before = {charge.id for charge in self._charges()}

        def change():
            if before == 0 and quantity:
                subs.add_addon(sub, unit_product, self.now, quantity=quantity)
            elif quantity == 0 and before:
                subs.remove_addon(sub, unit_product, self.now)
            elif quantity:
                subs.change_quantity(sub, unit_product, quantity, self.now)

        self._attempt(change)
        new = [charge for charge in self._charges() if charge.id not in charges_before]
        for charge in new:
            start, end, status = period
            assert status != "trial"
            full = charge.unit_amount * charge.quantity
            expected = Fraction(full * _days(max(self.now, start), end), _days(start, end))
            assert abs(abs(charge.amount) - expected) <= 1, (charge.amount, expected)
            assert (charge.kind == "credit") == (quantity < before)

    @rule()
    def toggle_module(self):
        module = self.catalog.module
        if any(item.product_id == module.id for item in self.sub.items):
            self._attempt(lambda: subs.remove_addon(self.sub, module, self.now))
        else:
            self._attempt(lambda: subs.add_addon(self.sub, module, self.now))

    @rule()
    def change_plan(self):
        plan = self.catalog.pro if self.sub.plan_id == self.catalog.basic.id else self.catalog.basic
        self._attempt(lambda: subs.change_plan(self.sub, plan, self.now))

    @rule(documents=st.integers(1, 400))
    def report_usage(self, documents):
        self.event_number += 1
        event = usage.Event(f"e{self.event_number}", "documents", documents, self.now)
        self._attempt(lambda: usage.record_events(self.org, [event, event], self.now))

    @rule()
    def suspend(self):
        self._attempt(lambda: suspension.suspend(self.sub, self.now))

    @rule()
    def resume(self):
        self._attempt(lambda: subs.resume(self.sub, self.now))

    @rule()
    def pay_everything_due(self):
        def pay():
            for invoice in self._documents("invoice"):
                if invoice.status == "open":
                    invoicing.mark_paid(invoice, self.now)

        self._attempt(pay)

    def _key(self) -> str:
        self.keys += 1
        return f"r2-{self.keys}"

    def _open_invoice(self):
        return next((i for i in self._documents("invoice") if i.status == "open" and credit_notes.amount_due(i)),
                    None)

    @rule(share=st.integers(1, 100))
    def pay_part_by_card(self, share):
        invoice = self._open_invoice()
        if invoice is None:
            return
        amount = max(credit_notes.amount_due(invoice) * share // 100, 1)
        org_id, invoice_id, card_id, key = self.org.id, invoice.id, self.card_id, self._key()

        def claim():
            return [checkout.claim_invoice_payment(db.session.get(Organisation, org_id),
                                                   db.session.get(Invoice, invoice_id), amount, "card", key,
                                                   self.now, payment_method=db.session.get(PaymentMethod, card_id))]

        self._attempt(lambda: payment_flow.pay(claim, self.now))

    @rule(amount=st.integers(1, 60_000))
    def add_funds(self, amount):
        org_id, card_id, key = self.org.id, self.card_id, self._key()

        def claim():
            return [checkout.claim_top_up(db.session.get(Organisation, org_id), amount, "card", key, self.now,
                                          db.session.get(PaymentMethod, card_id))]

        self._attempt(lambda: payment_flow.pay(claim, self.now))

    @rule()
    def pay_from_the_wallet(self):
        invoice = self._open_invoice()
        balance = wallet.balance(self.org.id, "CLP")
        if invoice is None or balance <= 0:
            return
        amount = min(balance, credit_notes.amount_due(invoice))
        self._attempt(lambda: checkout.pay_from_wallet(self.org, invoice, amount, self._key(), self.now))

    @rule(share=st.integers(1, 100), to_wallet=st.booleans())
    def refund_a_payment(self, share, to_wallet):
        payment = next((p for p in db.session.scalars(db.select(Payment).where(
            Payment.organisation_id == self.org.id, Payment.purpose == "invoice").order_by(Payment.id))
            if refunds.refundable(p)), None)
        if payment is None:
            return
        amount = max(refunds.refundable(payment) * share // 100, 1)
        payment_id, key = payment.id, self._key()
        destination = "wallet" if to_wallet else "method"

        def claim():
            return refunds.claim_refund(db.session.get(Payment, payment_id), amount, destination, key, self.now)

        self._attempt(lambda: refund_flow.refund(claim, self.now))

    # Paying by itself: settings, a card that starts or stops declining, spends, top-ups and the retries.

    @rule(who=st.sampled_from([0, 1]), pay_from_wallet=st.booleans(), auto_recharge=st.booleans(),
          threshold=st.integers(0, 40_000), amount=st.integers(1, 80_000))
    def choose_how_the_wallet_pays(self, who, pay_from_wallet, auto_recharge, threshold, amount):
        org = db.session.get(Organisation, self.accounts[who][0])
        self._attempt(lambda: wallet.save_settings(org, pay_from_wallet, auto_recharge, threshold, amount, True,
                                                   self.now))

    @rule(who=st.sampled_from([0, 1]), behaviour=st.sampled_from(["succeeds", "declined"]))
    def the_card_starts_or_stops_declining(self, who, behaviour):
        card = db.session.get(PaymentMethod, self.accounts[who][1])
        card.token = f"tok_sb_{behaviour}_{card.id}"
        card.state, card.failure_code = "active", None
        db.session.commit()

    @rule(who=st.sampled_from([0, 1]), amount=st.integers(1, 60_000))
    def spend_from_the_wallet(self, who, amount):
        org = db.session.get(Organisation, self.accounts[who][0])
        self._attempt(lambda: wallet.adjust(org, -amount, "spent at the counter", self.now, None))

    @rule(who=st.sampled_from([0, 1]), amount=st.integers(1, 60_000))
    def top_up(self, who, amount):
        org_id, card_id, key = *self.accounts[who], self._key()

        def claim():
            return [checkout.claim_top_up(db.session.get(Organisation, org_id), amount, "card", key, self.now,
                                          db.session.get(PaymentMethod, card_id))]

        self._attempt(lambda: payment_flow.pay(claim, self.now))

    @rule()
    def retry_failed_automatic_payments(self):
        for invoice_id, number in auto_pay_flow.retry_due(self.now + timedelta(days=30)):
            auto_pay_flow.attempt(invoice_id, number, self.now)
        db.session.expire_all()

    # The invariants.

    def _charges(self):
        return list(db.session.scalars(db.select(SubscriptionCharge).where(
            SubscriptionCharge.subscription_id == self.sub.id)))

    def _documents(self, kind, org_id=None):
        return list(db.session.scalars(db.select(Invoice).where(
            Invoice.kind == kind, Invoice.organisation_id == (self.org.id if org_id is None else org_id))))

    def _org_ids(self):
        return [org_id for org_id, _card in getattr(self, "accounts", [])]

    @invariant()
    def totals_are_the_sum_of_their_lines(self):
        for invoice in [doc for org_id in self._org_ids()
                        for doc in self._documents("invoice", org_id) + self._documents("credit_note", org_id)]:
            assert invoice.subtotal == sum(line.amount for line in invoice.lines)
            assert invoice.tax_total == sum(line.tax_amount for line in invoice.lines)
            assert invoice.total == invoice.subtotal + invoice.tax_total
            assert all(line.total == line.amount + line.tax_amount for line in invoice.lines)

    @invariant()
    def the_ledger_balances(self):
        for org_id in self._org_ids():
            self._ledger_balances(org_id)

    def _ledger_balances(self, org_id):
        invoices = [invoice for invoice in self._documents("invoice", org_id) if invoice.status != "void"]
        notes = [note for note in self._documents("credit_note", org_id) if note.status != "void"]
        credited = {invoice.id: credit_notes.credited_total(invoice) for invoice in invoices}
        assert all(note.credit_for_id in credited for note in notes)
        assert sum(credited.values()) == sum(note.total for note in notes)
        for invoice in invoices:
            assert 0 <= credited[invoice.id] <= invoice.total
            assert credit_notes.amount_due(invoice) >= 0
        invoiced = sum(invoice.total for invoice in invoices)
        paid = sum(invoice.total for invoice in invoices if invoice.status == "paid")
        credits_on_open = sum(credited[invoice.id] for invoice in invoices if invoice.status == "open")
        paid_on_open = sum(credit_notes.paid_total(invoice) for invoice in invoices if invoice.status == "open")
        due = sum(credit_notes.amount_due(invoice) for invoice in invoices)
        assert invoiced - paid - credits_on_open - paid_on_open == due

    @invariant()
    def payments_refunds_and_the_wallet_balance(self):
        db.session.expire_all()
        for org_id in self._org_ids():
            self._payments_refunds_and_wallet(org_id)

    def _payments_refunds_and_wallet(self, org_id):
        invoices = [invoice for invoice in self._documents("invoice", org_id) if invoice.status != "void"]
        payments = list(db.session.scalars(db.select(Payment).where(Payment.organisation_id == org_id)))
        paid_net = {invoice.id: 0 for invoice in invoices}
        for payment in payments:
            assert 0 <= payment.refunded_amount <= payment.amount
            done = db.session.scalars(db.select(Refund).where(Refund.payment_id == payment.id,
                                                              Refund.state == "succeeded")).all()
            assert sum(refund.amount for refund in done) == payment.refunded_amount
            for refund in done:  # a refund's own credit note, or a suspension's that gave back part of it
                note = db.session.get(Invoice, refund.credit_note_id)
                backed = db.session.scalars(db.select(Refund.amount).where(Refund.credit_note_id == note.id)).all()
                assert sum(backed) <= note.total
            if payment.state == "succeeded" and payment.invoice_id in paid_net:
                paid_net[payment.invoice_id] += payment.amount - payment.refunded_amount
        invoiced = credited = settled_by_hand = 0
        for invoice in invoices:
            credit = credit_notes.credited_total(invoice)
            left = invoice.total - credit - paid_net[invoice.id]
            invoiced, credited = invoiced + invoice.total, credited + credit
            if invoice.status == "paid":
                assert left >= 0  # never paid beyond what it asked, refunds counted
                settled_by_hand += left
        due = sum(credit_notes.amount_due(invoice) for invoice in invoices)
        assert invoiced - sum(paid_net.values()) - credited - settled_by_hand == due
        assert wallet.balance(org_id, "CLP") == wallet.ledger_sum(org_id, "CLP") >= 0
        assert db.session.scalar(db.select(db.func.coalesce(db.func.min(WalletEntry.balance_after), 0))
                                 .where(WalletEntry.organisation_id == org_id)) >= 0
        # The wallet's credits are the top-ups that succeeded, what was refunded to it and what was paid twice;
        # its debits, what it paid and what staff took: each payment from it is one spend of its amount.
        for payment in payments:
            if payment.method_kind == "wallet" and payment.state == "succeeded":
                spent = db.session.scalars(db.select(WalletEntry.amount).where(
                    WalletEntry.payment_id == payment.id, WalletEntry.kind == "spend")).all()
                assert spent == [-payment.amount]
            if payment.purpose == "top_up":
                credited_in = db.session.scalars(db.select(WalletEntry.amount).where(
                    WalletEntry.payment_id == payment.id, WalletEntry.kind == "top_up")).all()
                assert credited_in == ([payment.amount] if payment.state == "succeeded" else [])

    @invariant()
    def one_recharge_per_fall(self):
        for org_id in self._org_ids():
            keys = db.session.scalars(db.select(Payment.idempotency_key).where(
                Payment.organisation_id == org_id, Payment.idempotency_key.like("recharge:%"))).all()
            assert len(keys) == len(set(keys))
            for key in keys:  # each names a spend of this wallet that left it under a threshold
                entry = db.session.get(WalletEntry, int(key.split(":")[1]))
                assert entry.organisation_id == org_id and entry.amount < 0

    @invariant()
    def one_recurring_charge_per_product_and_period(self):
        for sub in (self.sub, getattr(self, "other_sub", None)):
            if sub is None:
                continue
            rows = db.session.execute(
                db.select(InvoiceLine.product_id, InvoiceLine.period_start, db.func.count())
                .join(Invoice, Invoice.id == InvoiceLine.invoice_id)
                .where(Invoice.subscription_id == sub.id, InvoiceLine.kind == "recurring",
                       Invoice.kind == "invoice", Invoice.status != "void")
                .group_by(InvoiceLine.product_id, InvoiceLine.period_start)).all()
            assert all(count == 1 for _product, _start, count in rows), rows

    @invariant()
    def numbers_have_no_gaps(self):
        for series_id in set(db.session.scalars(db.select(Invoice.series_id).where(Invoice.number.is_not(None)))):
            numbers = sorted(db.session.scalars(db.select(Invoice.number).where(Invoice.series_id == series_id)))
            assert numbers == list(range(1, len(numbers) + 1))

    @invariant()
    def the_period_is_sane(self):
        assert self.sub.current_period_start < self.sub.current_period_end
        assert self.sub.status in ("trial", "active", "past_due", "suspended", "cancelled")

    def teardown(self):
        """Whatever happened, the clock runs to the 24th month: every period is closed exactly once."""
        if getattr(self, "sub", None) is None:
            return
        moment = self.now
        while moment < END:
            moment = min(add_months(moment, 1), END)
            self._sweep(moment)
        assert run_sweep(END, render_pdfs=False).invoices == 0  # a second run finds nothing to do
        self.totals_are_the_sum_of_their_lines()
        self.the_ledger_balances()
        self.payments_refunds_and_the_wallet_balance()
        self.one_recharge_per_fall()
        self.one_recurring_charge_per_product_and_period()
        self.numbers_have_no_gaps()


def test_money_invariants_hold_over_24_months_of_random_changes(cat):
    Billing.catalog = cat
    db.session.commit()
    run_state_machine_as_test(Billing, settings=settings(
        max_examples=10, stateful_step_count=25, deadline=None, derandomize=True,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much]))
