"""Brazilian boleto (FEBRABAN): the 44-digit barcode, the 47-digit typeable line and their check digits."""

from datetime import date, timedelta

BASE_DATE = date(1997, 10, 7)
# The factor has four digits: after 9999 (2025-02-21) it restarts at 1000, so every 9,000 days it repeats.
FACTOR_CYCLE = 9000
CURRENCY_REAL = "9"


class BoletoError(ValueError):
    """A barcode or typeable line that is not a valid boleto (length, digits or a check digit)."""


def mod10(digits: str) -> int:
    """Field check digit: weights 2, 1, 2, 1 … from the right, the digits of each product added."""
    total = 0
    for position, char in enumerate(reversed(digits)):
        product = int(char) * (2 if position % 2 == 0 else 1)
        total += product // 10 + product % 10
    return (10 - total % 10) % 10


def mod11(digits: str) -> int:
    """General check digit: weights 2…9 repeating from the right; 0, 10 and 11 become 1."""
    total = sum(int(char) * (2 + position % 8) for position, char in enumerate(reversed(digits)))
    check = 11 - total % 11
    return 1 if check in (0, 10, 11) else check


def due_factor(due: date) -> int:
    """The four-digit due-date factor: days since 1997-10-07, restarting at 1000 after 9999."""
    days = (due - BASE_DATE).days
    if days < 1000:
        raise BoletoError("due date before 2000-07-03 has no factor")
    return (days - 1000) % FACTOR_CYCLE + 1000


def due_date(factor: int, around: date) -> date:
    """The due date a factor stands for, in the 9,000-day window that best contains `around`.

    The window runs from about 3,000 days before `around` to 6,000 after, so a boleto a few years
    overdue and one due far in the future both decode to the date they were issued for.
    """
    if not 1000 <= factor <= 9999:
        raise BoletoError("factor out of range")
    first = BASE_DATE + timedelta(days=factor)  # the first cycle (2000-07-03 … 2025-02-21)
    cycles = max(0, -((3000 - (around - first).days) // FACTOR_CYCLE))  # the first cycle not before around − 3000
    return first + timedelta(days=cycles * FACTOR_CYCLE)


def barcode(bank: str, amount_cents: int, due: date, free_field: str) -> str:
    """The 44-digit barcode: bank, currency, general check digit, factor, amount, the bank's 25-digit free field."""
    if len(bank) != 3 or not bank.isdigit():
        raise BoletoError("bank code must be 3 digits")
    if len(free_field) != 25 or not free_field.isdigit():
        raise BoletoError("free field must be 25 digits")
    if not 0 < amount_cents <= 99_999_999_99:
        raise BoletoError("amount out of range")
    rest = f"{due_factor(due):04d}{amount_cents:010d}{free_field}"
    body = bank + CURRENCY_REAL + rest
    return f"{bank}{CURRENCY_REAL}{mod11(body)}{rest}"


def typeable_line(code: str) -> str:
    """The 47-digit typeable line of a 44-digit barcode (five fields, the first three with a mod-10 digit)."""
    validate_barcode(code)
    field1 = code[0:4] + code[19:24]
    field2 = code[24:34]
    field3 = code[34:44]
    return (
        f"{field1}{mod10(field1)}{field2}{mod10(field2)}{field3}{mod10(field3)}"
        f"{code[4]}{code[5:19]}"
    )


def barcode_from_line(line: str) -> str:
    """The barcode a typeable line stands for, after checking its three field digits and the general one."""
    digits = "".join(char for char in line if not char.isspace() and char != ".")
    if len(digits) != 47 or not digits.isdigit():
        raise BoletoError("a typeable line has 47 digits")
    for start, end in ((0, 9), (10, 20), (21, 31)):
        if mod10(digits[start:end]) != int(digits[end]):
            raise BoletoError("field check digit does not match")
    code = digits[0:4] + digits[32] + digits[33:47] + digits[4:9] + digits[10:20] + digits[21:31]
    validate_barcode(code)
    return code


def validate_barcode(code: str) -> str:
    if len(code) != 44 or not code.isdigit():
        raise BoletoError("a barcode has 44 digits")
    if mod11(code[:4] + code[5:]) != int(code[4]):
        raise BoletoError("general check digit does not match")
    return code


def format_line(line: str) -> str:
    """The typeable line as printed: "AAABC.CCCCX DDDDD.DDDDDY EEEEE.EEEEEZ K UUUUVVVVVVVVVV"."""
    return (
        f"{line[0:5]}.{line[5:10]} {line[10:15]}.{line[15:21]} "
        f"{line[21:26]}.{line[26:32]} {line[32]} {line[33:47]}"
    )


def amount_cents(code: str) -> int:
    return int(code[9:19])
