"""Real NF-e / NFC-e XML files (layout 4.00), with an access key whose check digit is right: the tests' specimens
(good and hostile files) and the demo's documents.

The structure is the authorised file a SEFAZ returns: nfeProc / NFe / infNFe (+ Signature) and protNFe / infProt.
"""

from xml.sax.saxutils import escape

from portal.services.fiscal.nfe import NAMESPACE, check_digit

ISSUER = "11222333000181"
RECIPIENT = "45398765000160"


def access_key(issuer: str = ISSUER, model: str = "55", series: int = 1, number: int = 42, uf: str = "35",
               year_month: str = "2611", emission: str = "1", code: str = "12345678") -> str:
    first_43 = f"{uf}{year_month}{issuer.rjust(14, '0')}{model}{series:03d}{number:09d}{emission}{code}"
    return first_43 + str(check_digit(first_43))


def _party(tag: str, tax_id: str | None, name: str | None) -> str:
    if tax_id is None and name is None:
        return ""
    kind = "CPF" if tax_id is not None and len(tax_id) == 11 else "CNPJ"
    tax = f"<{kind}>{tax_id}</{kind}>" if tax_id is not None else ""
    return f"<{tag}>{tax}<xNome>{escape(name or '')}</xNome></{tag}>"


def make_nfe(issuer: str = ISSUER, recipient: str | None = RECIPIENT, model: str = "55", series: int = 1,
             number: int = 42, issued_at: str = "2026-11-20T10:15:00-03:00", total: str = "1234.56",
             cfops: tuple[str, ...] = ("5102",), status: str | None = "100",
             reason: str = "Autorizado o uso da NF-e", environment: str = "1", key: str | None = None,
             issuer_name: str = "DISTRIBUIDORA AURORA LTDA", recipient_name: str | None = "PADARIA PAO DOURADO LTDA",
             code: str = "12345678", extra_dest: str = "", year_month: str = "2611") -> bytes:
    """An NF-e (model 55) or NFC-e (65) XML; `status=None` leaves out the authorisation protocol. The key's
    `year_month` (YYMM) is the issue's month."""
    key = key or access_key(issuer, model, series, number, year_month=year_month, code=code)
    items = "".join(
        f'<det nItem="{n}"><prod><cProd>{n}</cProd><xProd>Item {n}</xProd><CFOP>{cfop}</CFOP><uCom>UN</uCom>'
        f"<qCom>1.0000</qCom><vUnCom>1.00</vUnCom><vProd>1.00</vProd></prod></det>"
        for n, cfop in enumerate(cfops, start=1))
    dest = _party("dest", recipient, recipient_name if recipient is not None or recipient_name else None)
    if extra_dest:
        dest = f"<dest>{extra_dest}</dest>"
    nfe = (
        f'<NFe xmlns="{NAMESPACE}"><infNFe Id="NFe{key}" versao="4.00">'
        f"<ide><cUF>35</cUF><cNF>{code}</cNF><natOp>VENDA</natOp><mod>{model}</mod><serie>{series}</serie>"
        f"<nNF>{number}</nNF><dhEmi>{issued_at}</dhEmi><tpNF>1</tpNF><tpAmb>{environment}</tpAmb>"
        f"<cDV>{key[-1]}</cDV></ide>"
        f"{_party('emit', issuer, issuer_name)}{dest}{items}"
        f"<total><ICMSTot><vBC>0.00</vBC><vICMS>0.00</vICMS><vNF>{total}</vNF></ICMSTot></total>"
        f"</infNFe>"
        f'<Signature xmlns="http://www.w3.org/2000/09/xmldsig#"><SignedInfo/><SignatureValue>AAAA</SignatureValue>'
        f"</Signature></NFe>"
    )
    if status is None:
        return ('<?xml version="1.0" encoding="UTF-8"?>' + nfe).encode()
    protocol = (
        f'<protNFe versao="4.00"><infProt><tpAmb>{environment}</tpAmb><verAplic>SP_NFE_PL009_V4</verAplic>'
        f"<chNFe>{key}</chNFe><dhRecbto>{issued_at}</dhRecbto><nProt>135260000000001</nProt>"
        f"<cStat>{status}</cStat><xMotivo>{escape(reason)}</xMotivo></infProt></protNFe>"
    )
    return (f'<?xml version="1.0" encoding="UTF-8"?><nfeProc xmlns="{NAMESPACE}" versao="4.00">{nfe}{protocol}'
            f"</nfeProc>").encode()


def make_nfce(issuer: str = ISSUER, recipient: str | None = None, **fields) -> bytes:
    """An NFC-e (model 65), to a consumer who gave no CPF unless `recipient` is given."""
    fields.setdefault("recipient_name", None)
    fields.setdefault("cfops", ("5102", "5405"))
    return make_nfe(issuer=issuer, recipient=recipient, model="65", **fields)


BILLION_LAUGHS = (
    b'<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">'
    b'<!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">'
    b'<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">'
    b'<!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">'
    b'<!ENTITY lol5 "&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;">'
    b'<!ENTITY lol6 "&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;">'
    b'<!ENTITY lol7 "&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;">'
    b'<!ENTITY lol8 "&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;">'
    b'<!ENTITY lol9 "&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;">]>'
    b'<nfeProc xmlns="http://www.portalfiscal.inf.br/nfe">&lol9;</nfeProc>'
)
EXTERNAL_ENTITY = (
    b'<?xml version="1.0"?><!DOCTYPE nfeProc [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>'
    b'<nfeProc xmlns="http://www.portalfiscal.inf.br/nfe"><NFe><infNFe Id="&xxe;"/></NFe></nfeProc>'
)
EXTERNAL_DTD = (
    b'<?xml version="1.0"?><!DOCTYPE nfeProc SYSTEM "http://127.0.0.1:9/nfe.dtd">'
    b'<nfeProc xmlns="http://www.portalfiscal.inf.br/nfe"/>'
)


def with_doctype(xml: bytes) -> bytes:
    """A valid NF-e with an (otherwise harmless) internal DTD: refused all the same."""
    return xml.replace(b"?>", b'?><!DOCTYPE nfeProc [<!ELEMENT nfeProc ANY>]>', 1)
