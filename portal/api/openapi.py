"""The OpenAPI 3.1 document of the API: every path with its parameters, bodies and answers (their schemas are in
portal/api/schemas.py), and the errors common to every path.

tests/api/test_openapi.py checks that every documented path is a route and every API route is documented,
and validates the answers of the API's tests against these schemas: a new endpoint documents itself here.
"""

from flask import current_app, request

from portal.api.schemas import SCHEMAS, error_answer, json_answer, ref, usage_event_schema
from portal.orm import utcnow
from portal.routing import MAX_ID
from portal.services.billing import usage
from portal.services.fiscal import documents, nfe

KEY_HEADER = "X-Api-Key"

COMMON_ERRORS = {
    "401": error_answer("No valid integration key (`unauthorized`)."),
    "402": error_answer("The organisation is blocked for an overdue balance (`payment_required`)."),
    "403": error_answer("The organisation is blocked by its reseller or the vendor (`account_blocked`)."),
    "429": error_answer("Too many requests for this key (`too_many_requests`)."),
}


def _page_parameter(name: str, maximum: int, default: int, description: str) -> dict:
    return {"name": name, "in": "query", "required": False, "description": description,
            "schema": {"type": "integer", "minimum": 1, "maximum": maximum, "default": default}}


PATHS = {
    "/openapi.json": {
        "get": {
            "operationId": "openapi",
            "summary": "This document.",
            "security": [],
            "responses": {"200": {"description": "The OpenAPI 3.1 document.",
                                  "content": {"application/json": {"schema": {"type": "object"}}}}},
        }
    },
    "/me": {
        "get": {
            "operationId": "me",
            "summary": "Who am I: organisation, plan, status, billing period and entitlements.",
            "responses": {"200": json_answer(ref("Me"), "The organisation of the key."), **COMMON_ERRORS},
        }
    },
    "/usage": {
        "post": {
            "operationId": "reportUsage",
            "summary": "Report a batch of usage events.",
            "description": (
                f"Up to {usage.MAX_EVENTS} events. The whole batch is checked first: if any event is not valid, "
                "nothing is recorded and the error names the event (`index`) and the field. An event whose id "
                "was already received is counted once, also when the same batch is sent again or two batches "
                "sharing ids arrive at the same time, so a batch can safely be retried."
            ),
            "requestBody": {"required": True, "content": {"application/json": {"schema": ref("UsageBatch")}}},
            "responses": {
                "200": json_answer(ref("UsageResult"), "The batch was recorded."),
                "400": error_answer("The body is not JSON (`invalid_json`)."),
                "409": error_answer("An id was reported before with other values (`event_id_conflict`)."),
                "413": error_answer("Too many events or too large a body (`batch_too_large`)."),
                "415": error_answer("The body is not sent as `application/json` (`unsupported_media_type`)."),
                "422": error_answer("An event or the body is not valid (`invalid_payload`, `invalid_event`, "
                              "`event_in_future`, `event_too_old`)."),
                **COMMON_ERRORS,
            },
        }
    },
    "/entry-links": {
        "post": {
            "operationId": "createEntryLink",
            "summary": "A link that opens the store logged in as one of your users.",
            "description": (
                "For the store's direct access in your software's top bar: ask for a link when the user chooses "
                "it and open it at once. The link is signed, works once and for at most 60 seconds, and logs in "
                "the user with that e-mail, who must already be a member of your organisation (no user is ever "
                "created). Every link issued and used is in the organisation's audit log."
            ),
            "requestBody": {"required": True,
                            "content": {"application/json": {"schema": ref("EntryLinkRequest")}}},
            "responses": {
                "201": json_answer(ref("EntryLink"), "The link, for this user, valid for a minute."),
                "404": error_answer("No user of your organisation has this e-mail (`unknown_user`)."),
                "422": error_answer("The body is not a JSON object with an `email` (`invalid_payload`)."),
                **COMMON_ERRORS,
            },
        }
    },
    "/licenses/check": {
        "post": {
            "operationId": "checkLicense",
            "summary": "Check a license's authorisation code for the client's tax id.",
            "description": (
                "For the vendor's software at a partner's client: send the authorisation code the partner gave the "
                "client and the client's tax id; the answer is `valid`, `cancelled` or `unknown`, with the product "
                "and its users when the code is the client's. Only the vendor's integration key may ask (any other "
                "key gets `403 vendor_key_required`). An unknown code and another client's code answer alike, in "
                "the same time. Checks are limited per address (an office), not per key: `429` with `Retry-After`."
            ),
            "requestBody": {"required": True,
                            "content": {"application/json": {"schema": ref("LicenseCheckRequest")}}},
            "responses": {
                "200": json_answer(ref("LicenseCheck"), "What the license is for this client."),
                "422": error_answer("The body is not a JSON object with a `code` and a `tax_id`, texts of 1 to 64 "
                              "characters (`invalid_payload`)."),
                **COMMON_ERRORS,
                "403": error_answer("The key is not the vendor's (`vendor_key_required`), or the vendor is blocked "
                              "(`account_blocked`)."),
            },
        }
    },
    "/fiscal-documents": {
        "post": {
            "operationId": "uploadFiscalDocuments",
            "summary": "Send your company's NF-e / NFC-e XMLs, issued or received: one, or a batch.",
            "description": (
                "One XML as the body (`Content-Type: application/xml`), or a batch of up to "
                f"{documents.MAX_BATCH_FILES} XMLs (8 MB in all) as the `files` parts of a `multipart/form-data` "
                "body. Send the authorised file (nfeProc, with its protNFe); a bare NFe is kept as not authorised. "
                "A document is kept for your company when it is its issuer (`issued`) or its recipient "
                "(`received`), checked whole first: the XML may have no DTD or entities, the access key its "
                "check digit, and it must agree with the document. An access key already kept answers "
                "`duplicate` with the document kept, so any upload can safely be retried. In a batch each file "
                "has its own result (stored, duplicate or refused with its error), in the order sent."
            ),
            "requestBody": {"required": True, "content": {
                "application/xml": {"schema": {"type": "string", "maxLength": nfe.MAX_BYTES,
                                               "description": "One NF-e / NFC-e XML, as the SEFAZ returned it."}},
                "multipart/form-data": {
                    "schema": {"type": "object", "required": ["files"], "properties": {"files": {
                        "type": "array", "minItems": 1, "maxItems": documents.MAX_BATCH_FILES,
                        "description": "One part per XML, each named `files`.",
                        "items": {"type": "string", "contentMediaType": "application/xml"}}}},
                    "encoding": {"files": {"contentType": "application/xml, text/xml"}},
                },
            }},
            "responses": {
                "200": json_answer({"oneOf": [ref("FiscalDocumentResult"), ref("FiscalDocumentBatchResult")]},
                             "One XML already kept (`duplicate`), or a batch's results."),
                "201": json_answer(ref("FiscalDocumentResult"), "One XML, kept (`stored`)."),
                "413": error_answer("The XML or the batch is too large (`document_too_large`, `batch_too_large`)."),
                "415": error_answer("Neither `application/xml` nor `multipart/form-data` (`unsupported_media_type`)."),
                "422": error_answer("The XML is refused (`xml_malformed`, `xml_dtd_forbidden`, `not_nfe`, "
                              "`invalid_access_key`, `access_key_check_digit`, `access_key_mismatch`, "
                              "`unsupported_model`, `test_environment`, `missing_field`, `invalid_field`, "
                              "`not_your_document`), or a batch has no files (`invalid_payload`)."),
                **COMMON_ERRORS,
            },
        }
    },
    "/invoices": {
        "get": {
            "operationId": "listInvoices",
            "summary": "The organisation's issued invoices and credit notes, newest first.",
            "parameters": [
                _page_parameter("page", 1_000_000, 1, "Page number, from 1."),
                _page_parameter("per_page", 100, 50, "Invoices per page."),
            ],
            "responses": {
                "200": json_answer(ref("InvoicePage"), "One page of invoices."),
                "422": error_answer("A parameter is not valid (`invalid_parameter`)."),
                **COMMON_ERRORS,
            },
        }
    },
    "/invoices/{invoice_id}": {
        "get": {
            "operationId": "getInvoice",
            "summary": "One issued invoice with its lines and installments.",
            "parameters": [{"name": "invoice_id", "in": "path", "required": True,
                            "schema": {"type": "integer", "minimum": 1, "maximum": MAX_ID}}],
            "responses": {
                "200": json_answer(ref("InvoiceDetail"), "The invoice."),
                "404": error_answer("No such invoice for your organisation (`not_found`)."),
                **COMMON_ERRORS,
            },
        }
    },
}


def openapi_document() -> dict:
    brand = current_app.config["BRAND_NAME"]
    return {
        "openapi": "3.1.0",
        "info": {
            "title": f"{brand} API",
            "version": "1",
            "description": (
                f"The {brand} API for your software and integrators. Authenticate every call with your "
                f"organisation's integration key in the `{KEY_HEADER}` header (never in the URL); an administrator "
                "sees it, and can replace it, on the portal's Integration key page. Replacing it revokes the old "
                "key at once. Times are ISO 8601 in UTC; amounts are integers in the currency's minor units. "
                "Every error is JSON with a stable `code` and a `message` for people."
            ),
        },
        "servers": [{"url": request.script_root + "/api/v1"}],
        "security": [{"integrationKey": []}],
        "paths": PATHS,
        "components": {
            "securitySchemes": {
                "integrationKey": {"type": "apiKey", "in": "header", "name": KEY_HEADER,
                                   "description": "Your organisation's integration key (vk_live_…)."},
            },
            "schemas": {**SCHEMAS, "UsageEvent": usage_event_schema(utcnow())},
        },
    }
