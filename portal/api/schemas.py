"""The component schemas of the API's OpenAPI document (portal/api/openapi.py holds its paths): every body and
answer, the error documents with their stable codes, and the helpers that refer to them."""

from datetime import datetime, timedelta

from portal.models import METRICS
from portal.services.billing import usage
from portal.services.fiscal import documents, nfe

# Why an NF-e / NFC-e is refused: the answer to one XML, or `error.code` of a file in a batch's results.
FISCAL_ERROR_CODES = {
    "document_too_large": f"413: an XML over {nfe.MAX_BYTES // 1024} KB (in a batch: that file is refused).",
    "xml_malformed": "422: the file is not well-formed XML.",
    "xml_dtd_forbidden": "422: the XML has a DTD, entity declarations or external references (never in an NF-e).",
    "not_nfe": "422: not an NF-e or NFC-e (no nfeProc/NFe/infNFe in the namespace http://www.portalfiscal.inf.br/nfe).",
    "invalid_access_key": "422: infNFe/@Id is not \"NFe\" and a 44-character access key.",
    "access_key_check_digit": "422: the access key's check digit (modulus 11) is wrong.",
    "access_key_mismatch": "422: the access key disagrees with the model, series, number or issuer of the "
                           "document, or with its protocol's chNFe.",
    "unsupported_model": "422: ide/mod is neither 55 (NF-e) nor 65 (NFC-e).",
    "test_environment": "422: issued in the test environment (ide/tpAmb 2): no fiscal value.",
    "missing_field": "422: a required element is missing; `field` names it (e.g. ide/dhEmi).",
    "invalid_field": "422: an element's value is not valid; `field` names it.",
    "not_your_document": "422: neither the issuer nor the recipient is the organisation of the key.",
}

# Every error code the API answers with, and when. Clients may rely on these; messages may change.
ERROR_CODES = {
    "unauthorized": "401: no integration key, a wrong one, or a replaced one.",
    "payment_required": "402: the organisation is blocked because a balance is overdue; paying it lifts the block.",
    "account_blocked": "403: the organisation is blocked by its reseller or by the vendor.",
    "invalid_json": "400: the body is not valid JSON.",
    "invalid_payload": '422: the body is not an object with a non-empty "events" list (or, for an entry link, '
                       'with an "email"; for fiscal documents, a multipart body without "files").',
    "invalid_event": "422: an event breaks a rule; `index` and `field` say which and where.",
    "event_in_future": "422: an event's occurred_at is more than 5 minutes ahead of the server's clock.",
    "event_too_old": "422: an event's occurred_at is before the previous billing period.",
    "batch_too_large": f"413: more than {usage.MAX_EVENTS} events, or a body over 1 MB (fiscal documents: more "
                       f"than {documents.MAX_BATCH_FILES} files, or over 8 MB).",
    "event_id_conflict": "409: an id already reported (or repeated in the batch) with another metric, quantity "
                         "or time.",
    "invalid_parameter": "422: a query parameter is not valid; `field` names it.",
    "vendor_key_required": "403: licenses are checked with the vendor's integration key only.",
    "unknown_user": "404: no user of your organisation has this e-mail (an entry link is for a member only).",
    "not_found": "404: no such path, or no such object for your organisation.",
    "method_not_allowed": "405: the path does not accept this HTTP method.",
    "request_entity_too_large": "413: the request body is larger than the portal accepts.",
    "too_many_requests": "429: too many requests for this key in a short time; wait and retry.",
    "unsupported_media_type": "415: the body is not sent as `Content-Type: application/json` (fiscal documents: "
                              "`application/xml` or `multipart/form-data`).",
    "bad_request": "400: the request could not be understood.",
    **FISCAL_ERROR_CODES,
    "internal_server_error": "500: an unexpected error on our side; it is logged. Retry later.",
}


# At least one character that is not a space, and no control character (C0, DEL, C1).
_TEXT = r"[^\u0000-\u001f\u007f-\u009f]"
EVENT_ID_PATTERN = rf"^{_TEXT}*[^\s\u0000-\u001f\u007f-\u009f]{_TEXT}*$"


def ref(name: str) -> dict:
    return {"$ref": f"#/components/schemas/{name}"}


def json_answer(schema: dict, description: str) -> dict:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def error_answer(description: str) -> dict:
    return json_answer(ref("Error"), description)


TIMESTAMP = {"type": "string", "format": "date-time", "description": "ISO 8601 in UTC, e.g. 2026-11-20T10:00:00Z."}
NULLABLE_TIMESTAMP = {**TIMESTAMP, "type": ["string", "null"]}
MINOR_UNITS = {"type": "integer", "description": "Integer amount in the currency's minor units (CLP has none)."}
PRODUCT = {
    "type": "object",
    "required": ["code", "name"],
    "properties": {"code": {"type": "string"}, "name": {"type": "string"}},
}

PARTY = {
    "type": "object",
    "required": ["tax_id", "name"],
    "additionalProperties": False,
    "properties": {"tax_id": {"type": ["string", "null"], "description": "CNPJ (14) or CPF (11), unformatted."},
                   "name": {"type": ["string", "null"]}},
}
FISCAL_ERROR = {
    "type": "object",
    "required": ["code", "message"],
    "additionalProperties": False,
    "properties": {"code": {"type": "string", "enum": list(FISCAL_ERROR_CODES)},
                   "message": {"type": "string", "description": "For people, in the Accept-Language language."},
                   "field": {"type": "string", "description": "The element at fault, e.g. ide/dhEmi."}},
}
FISCAL_SCHEMAS = {
    "FiscalDocument": {
        "type": "object",
        "required": ["id", "access_key", "model", "direction", "series", "number", "issued_at", "issuer",
                     "recipient", "total", "currency", "status", "status_code", "status_reason", "cfops",
                     "received_at"],
        "additionalProperties": False,
        "properties": {
            "id": {"type": "integer"},
            "access_key": {"type": "string", "pattern": "^[0-9]{6}[A-Z0-9]{12}[0-9]{26}$"},
            "model": {"type": "string", "enum": ["55", "65"], "description": "55 NF-e, 65 NFC-e."},
            "direction": {"type": "string", "enum": ["issued", "received"],
                          "description": "issued: your company is the issuer; received: it is the recipient."},
            "series": {"type": "integer", "minimum": 0, "maximum": 999},
            "number": {"type": "integer", "minimum": 1, "maximum": 999_999_999},
            "issued_at": TIMESTAMP,
            "issuer": PARTY,
            "recipient": {**PARTY, "description": "An NFC-e to a consumer may name nobody (both null)."},
            "total": {**MINOR_UNITS, "minimum": 0, "description": "vNF in centavos."},
            "currency": {"type": "string", "const": "BRL"},
            "status": {"type": "string", "enum": ["authorised", "denied", "rejected", "not_authorised"],
                       "description": "From protNFe/infProt/cStat: 100 and 150 authorised, 110 and 301-303 "
                                      "denied, any other rejected; no protocol in the file: not_authorised."},
            "status_code": {"type": ["string", "null"], "description": "cStat, when the file has a protocol."},
            "status_reason": {"type": ["string", "null"], "description": "xMotivo, when the file has a protocol."},
            "cfops": {"type": "array", "items": {"type": "string", "pattern": "^[1-7][0-9]{3}$"},
                      "description": "The items' CFOPs, each once, in order."},
            "received_at": TIMESTAMP,
        },
    },
    "FiscalDocumentResult": {
        "type": "object",
        "required": ["result", "document"],
        "additionalProperties": False,
        "properties": {"result": {"type": "string", "enum": ["stored", "duplicate"],
                                  "description": "duplicate: this access key was already kept; nothing changed."},
                       "document": ref("FiscalDocument")},
    },
    "FiscalDocumentBatchResult": {
        "type": "object",
        "required": ["stored", "duplicates", "refused", "results"],
        "additionalProperties": False,
        "properties": {
            "stored": {"type": "integer", "minimum": 0},
            "duplicates": {"type": "integer", "minimum": 0},
            "refused": {"type": "integer", "minimum": 0},
            "results": {"type": "array", "items": {
                "type": "object",
                "required": ["index", "filename", "result"],
                "additionalProperties": False,
                "properties": {
                    "index": {"type": "integer", "minimum": 0, "description": "Position of the file, from 0."},
                    "filename": {"type": ["string", "null"]},
                    "result": {"type": "string", "enum": ["stored", "duplicate", "refused"]},
                    "document": ref("FiscalDocument"),
                    "error": FISCAL_ERROR,
                },
            }},
        },
    },
}

SCHEMAS = {
    "Error": {
        "type": "object",
        "required": ["error"],
        "additionalProperties": False,
        "properties": {
            "error": {
                "type": "object",
                "required": ["code", "message"],
                "additionalProperties": False,
                "properties": {
                    "code": {"type": "string", "enum": list(ERROR_CODES),
                             "description": "Stable: " + " ".join(f"`{c}` {d}" for c, d in ERROR_CODES.items())},
                    "message": {"type": "string", "description": "For people, in the Accept-Language language."},
                    "field": {"type": "string", "description": "The field or parameter at fault, when one is."},
                    "index": {"type": "integer", "minimum": 0,
                              "description": "Position (from 0) in `events` of the event at fault."},
                },
            }
        },
    },
    "UsageEvent": {
        "type": "object",
        "required": ["id", "metric", "occurred_at"],
        "additionalProperties": False,
        "properties": {
            "id": {"type": "string", "minLength": 1, "maxLength": usage.MAX_ID_LENGTH, "pattern": EVENT_ID_PATTERN,
                   "description": "Your own unique id for the event: an id already received is counted once. "
                                  "Visible characters and spaces, no control characters."},
            "metric": {"type": "string", "enum": list(METRICS)},
            "quantity": {"type": "integer", "minimum": 1, "maximum": usage.MAX_QUANTITY, "default": 1,
                         "description": "A whole number written without a decimal point: 2, not 2.0."},
            # Filled in when the document is served: see usage_event_schema().
            "occurred_at": {},
        },
    },
    "UsageBatch": {
        "type": "object",
        "required": ["events"],
        "additionalProperties": False,
        "properties": {
            "events": {"type": "array", "minItems": 1, "maxItems": usage.MAX_EVENTS, "items": ref("UsageEvent")},
        },
    },
    "UsageResult": {
        "type": "object",
        "required": ["accepted", "duplicates"],
        "additionalProperties": False,
        "properties": {
            "accepted": {"type": "integer", "minimum": 0, "description": "Events recorded by this call."},
            "duplicates": {"type": "integer", "minimum": 0,
                           "description": "Events whose id was already recorded (or repeated in the batch)."},
        },
    },
    "Entitlement": {
        "type": "object",
        "required": ["included", "used", "remaining", "overage"],
        "additionalProperties": False,
        "properties": {
            "included": {"type": ["integer", "null"], "description": "null: not limited by your subscriptions."},
            "used": {"type": "integer", "minimum": 0},
            "remaining": {"type": ["integer", "null"], "minimum": 0},
            "overage": {"type": "integer", "minimum": 0, "description": "Units beyond the included ones."},
        },
    },
    "Subscription": {
        "type": "object",
        "required": ["id", "plan", "status", "billing_period", "current_period_start", "current_period_end",
                     "trial_ends_at", "add_ons"],
        "properties": {
            "id": {"type": "integer"},
            "plan": PRODUCT,
            "status": {"type": "string", "enum": ["trial", "active", "past_due"]},
            "billing_period": {"type": "string", "enum": ["monthly", "annual"]},
            "current_period_start": TIMESTAMP,
            "current_period_end": TIMESTAMP,
            "trial_ends_at": NULLABLE_TIMESTAMP,
            "add_ons": {"type": "array", "items": {
                **PRODUCT, "required": ["code", "name", "quantity"],
                "properties": {**PRODUCT["properties"], "quantity": {"type": "integer", "minimum": 1}}}},
        },
    },
    "EntryLinkRequest": {
        "type": "object",
        "required": ["email"],
        "properties": {"email": {"type": "string", "format": "email", "maxLength": 254,
                                 "description": "The e-mail of one of your organisation's users."}},
    },
    "EntryLink": {
        "type": "object",
        "required": ["url", "expires_at"],
        "additionalProperties": False,
        "properties": {
            "url": {"type": "string", "format": "uri",
                    "description": "Opens the store logged in as the user; works once, until `expires_at`."},
            "expires_at": TIMESTAMP,
        },
    },
    "LicenseCheckRequest": {
        "type": "object",
        "required": ["code", "tax_id"],
        "properties": {
            "code": {"type": "string", "minLength": 1, "maxLength": 64, "examples": ["ABCD-EFGH-JKMN-PQRS-TUVF"],
                     "description": "The authorisation code as the client typed it: case, spaces and dashes do not "
                                    "matter."},
            "tax_id": {"type": "string", "minLength": 1, "maxLength": 64, "examples": ["11.222.333/0001-81"],
                       "description": "The client's CNPJ or CPF, with or without its dots, slash and dash."},
        },
    },
    "LicenseCheck": {
        "type": "object",
        "required": ["status", "message", "product", "users", "activated_at", "cancelled_at", "code_well_formed"],
        "additionalProperties": False,
        "properties": {
            "status": {"type": "string", "enum": ["valid", "cancelled", "unknown"],
                       "description": "`valid`: active for this client. `cancelled`: activated for this client, then "
                                      "cancelled by its partner. `unknown`: no license has this code for this tax "
                                      "id (a code that does not exist, another client's code, or a code of a client "
                                      "cancelled altogether, whose tax id the portal no longer keeps)."},
            "message": {"type": "string", "description": "For people, in the Accept-Language language."},
            "product": {"oneOf": [PRODUCT, {"type": "null"}], "description": "null when `unknown`."},
            "users": {"type": ["integer", "null"], "minimum": 1,
                      "description": "The users the license brings; null when `unknown`."},
            "activated_at": NULLABLE_TIMESTAMP,
            "cancelled_at": NULLABLE_TIMESTAMP,
            "code_well_formed": {"type": "boolean",
                                 "description": "false: the code cannot be one whatever the tax id (its length, a "
                                                "character outside the alphabet, or its check character): a typing "
                                                "mistake to show the client; the status is then `unknown`."},
        },
    },
    "Me": {
        "type": "object",
        "required": ["organisation", "plan", "status", "period", "subscriptions", "entitlements"],
        "properties": {
            "organisation": {
                "type": "object",
                "required": ["id", "name", "kind", "country", "currency", "time_zone", "status"],
                "properties": {
                    "id": {"type": "integer"}, "name": {"type": "string"},
                    "kind": {"type": "string", "enum": ["customer", "reseller", "partner", "vendor"]},
                    "country": {"type": "string"}, "currency": {"type": "string"},
                    "time_zone": {"type": "string"}, "status": {"type": "string"},
                },
            },
            "plan": {"oneOf": [PRODUCT, {"type": "null"}], "description": "The plan of the oldest subscription."},
            "status": {"type": ["string", "null"], "enum": ["trial", "active", "past_due", None]},
            "period": {
                "type": "object",
                "required": ["start", "end", "billing_period"],
                "description": "The current billing period (the calendar month when there is no subscription).",
                "properties": {"start": TIMESTAMP, "end": TIMESTAMP,
                               "billing_period": {"type": ["string", "null"], "enum": ["monthly", "annual", None]}},
            },
            "subscriptions": {"type": "array", "items": ref("Subscription")},
            "entitlements": {
                "type": "object",
                "required": list(METRICS),
                "additionalProperties": False,
                "properties": {metric: ref("Entitlement") for metric in METRICS},
            },
        },
    },
    "Invoice": {
        "type": "object",
        "required": ["id", "number", "kind", "status", "overdue", "currency", "subtotal", "tax_total", "total",
                     "issued_at", "due_at", "paid_at", "period_start", "period_end"],
        "properties": {
            "id": {"type": "integer"},
            "number": {"type": "string", "description": "Series prefix and number, e.g. F000042."},
            "kind": {"type": "string", "enum": ["invoice", "credit_note"]},
            "status": {"type": "string", "enum": ["open", "paid", "void", "uncollectible"]},
            "overdue": {"type": "boolean", "description": "Open and past its due date."},
            "currency": {"type": "string", "minLength": 3, "maxLength": 3},
            "subtotal": MINOR_UNITS, "tax_total": MINOR_UNITS, "total": MINOR_UNITS,
            "issued_at": TIMESTAMP, "due_at": NULLABLE_TIMESTAMP, "paid_at": NULLABLE_TIMESTAMP,
            "period_start": NULLABLE_TIMESTAMP, "period_end": NULLABLE_TIMESTAMP,
        },
    },
    "InvoiceDetail": {
        "allOf": [ref("Invoice")],
        "type": "object",
        "required": ["lines", "installments"],
        "properties": {
            "lines": {"type": "array", "items": {
                "type": "object",
                "required": ["description", "kind", "quantity", "unit_amount", "amount", "tax_rate_bp",
                             "tax_amount", "total"],
                "properties": {
                    "description": {"type": "string"}, "kind": {"type": "string"}, "quantity": {"type": "integer"},
                    "unit_amount": MINOR_UNITS, "amount": MINOR_UNITS,
                    "tax_rate_bp": {"type": "integer", "description": "Basis points: 1900 is 19 %."},
                    "tax_amount": MINOR_UNITS, "total": MINOR_UNITS,
                },
            }},
            "installments": {"type": "array", "items": {
                "type": "object",
                "required": ["number", "amount", "due_at", "paid_at"],
                "properties": {"number": {"type": "integer"}, "amount": MINOR_UNITS, "due_at": TIMESTAMP,
                               "paid_at": NULLABLE_TIMESTAMP},
            }},
        },
    },
    "InvoicePage": {
        "type": "object",
        "required": ["invoices", "page", "per_page", "total", "pages", "next_page"],
        "additionalProperties": False,
        "properties": {
            "invoices": {"type": "array", "items": ref("Invoice")},
            "page": {"type": "integer", "minimum": 1},
            "per_page": {"type": "integer", "minimum": 1, "maximum": 100},
            "total": {"type": "integer", "minimum": 0},
            "pages": {"type": "integer", "minimum": 1},
            "next_page": {"type": ["integer", "null"]},
        },
    },
    **FISCAL_SCHEMAS,
}

# Every organisation's previous billing period starts at least this long ago (a monthly period that began
# on 1 March reaches back to 1 February): events this recent are accepted whatever the subscription.
ALWAYS_ACCEPTED = timedelta(days=27)


def _stamp(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def usage_event_schema(now: datetime) -> dict:
    """UsageEvent with its accepted time window as of `now`: stated in words, as bounds of the date-time
    (`formatMinimum`/`formatMaximum`, the JSON Schema keywords validators such as Ajv apply to formats), and
    as an example that is accepted when the document is read."""
    earliest, latest = now - ALWAYS_ACCEPTED, now + usage.FUTURE_TOLERANCE
    example = _stamp(now.replace(second=0, microsecond=0) - timedelta(minutes=1))
    occurred_at = {
        "type": "string",
        "format": "date-time",
        "formatMinimum": _stamp(earliest),
        "formatMaximum": _stamp(latest),
        "examples": [example],
        "description": (
            "When it happened, with its time zone. Accepted from the start of your previous billing period "
            f"(that is at least the last {ALWAYS_ACCEPTED.days} days, `formatMinimum` when this document was "
            f"served) up to {usage.FUTURE_TOLERANCE.seconds // 60} minutes ahead of the server's clock "
            "(`formatMaximum`); "
            "an older event is refused with `event_too_old`, a later one with `event_in_future`."
        ),
    }
    schema = SCHEMAS["UsageEvent"]
    return {**schema, "properties": {**schema["properties"], "occurred_at": occurred_at},
            "examples": [{"id": "evt-0001", "metric": METRICS[0], "quantity": 1, "occurred_at": example}]}
