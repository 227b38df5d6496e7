"""OAI-PMH 2.0 at ``/oai``: the door. It reads the request's arguments (GET query string, or
a POSTed form), makes one call (``archive.services.oai.respond``) and renders the answer as
the protocol's XML. The protocol's errors are XML too, with HTTP 200, as the protocol says."""

from __future__ import annotations

from flask import Blueprint, Response, request, url_for
from lxml import etree

from archive.services import oai as oai_service
from archive.settings import OaiSettings
from core.clock import now
from core.settings import settings_of
from core.transactions import in_unit_of_work

blp = Blueprint("oai", __name__)

OAI_NS = "http://www.openarchives.org/OAI/2.0/"
OAI_DC_NS = "http://www.openarchives.org/OAI/2.0/oai_dc/"
DC_NS = "http://purl.org/dc/elements/1.1/"
XSI_NS = "http://www.w3.org/2001/XMLSchema-instance"
XML_NS = "http://www.w3.org/XML/1998/namespace"
OAI_SCHEMA = f"{OAI_NS} http://www.openarchives.org/OAI/2.0/OAI-PMH.xsd"
OAI_DC_SCHEMA = f"{OAI_DC_NS} http://www.openarchives.org/OAI/2.0/oai_dc.xsd"
# The request element echoes the arguments in this order.
ARGUMENT_ORDER = ("identifier", "metadataPrefix", "from", "until", "set", "resumptionToken")


def _q(name: str, ns: str = OAI_NS) -> str:
    return f"{{{ns}}}{name}"


def _sub(parent, name: str, text: str | None = None, ns: str = OAI_NS, **attrs):
    element = etree.SubElement(parent, _q(name, ns), attrs)
    if text is not None:
        element.text = text
    return element


def _public_root() -> str:
    return settings_of(OaiSettings).public_base_url or request.host_url.rstrip("/")


def _record_pages():
    """A record's public page from its identifier (letters, digits, '.', '_', '-': nothing
    to escape), with the site's address worked out once per answer."""
    prefix = _public_root() + url_for("archive_pages.record", identifier="-")[:-1]
    return lambda identifier: prefix + identifier


@blp.route("/oai", methods=["GET", "POST"])
@in_unit_of_work
def endpoint():
    pairs = (
        request.form.items(multi=True)
        if request.method == "POST"
        else request.args.items(multi=True)
    )
    answer = oai_service.respond(
        pairs, now=now(), settings=settings_of(OaiSettings), record_url=_record_pages()
    )
    body = etree.tostring(_render(answer), xml_declaration=True, encoding="UTF-8")
    return Response(body, 200, content_type="text/xml; charset=utf-8")


def _render(answer: oai_service.Answer):
    root = etree.Element(_q("OAI-PMH"), nsmap={None: OAI_NS, "xsi": XSI_NS})
    root.set(_q("schemaLocation", XSI_NS), OAI_SCHEMA)
    _sub(root, "responseDate", answer.response_date)
    attrs = {}
    if answer.verb is not None and not any(e.code == "badArgument" for e in answer.errors):
        attrs["verb"] = answer.verb
        for name in ARGUMENT_ORDER:
            if name in answer.arguments:
                attrs[name] = answer.arguments[name]
    _sub(root, "request", _public_root() + url_for("oai.endpoint"), **attrs)
    if answer.errors:
        for error in answer.errors:
            _sub(root, "error", error.message, code=error.code)
        return root
    verb = _sub(root, answer.verb)
    if answer.identify is not None:
        _identify(verb, answer.identify)
    elif answer.formats is not None:
        for fmt in answer.formats:
            element = _sub(verb, "metadataFormat")
            _sub(element, "metadataPrefix", fmt.prefix)
            _sub(element, "schema", fmt.schema)
            _sub(element, "metadataNamespace", fmt.namespace)
    elif answer.sets is not None:
        for found in answer.sets:
            element = _sub(verb, "set")
            _sub(element, "setSpec", found.spec)
            _sub(element, "setName", found.name)
    elif answer.items is not None:
        for item in answer.items:
            if answer.verb == "ListIdentifiers":
                _header(verb, item.header)
            else:
                _record(verb, item)
        if answer.resumption is not None:
            _resumption(verb, answer.resumption)
    return root


def _identify(parent, identify: oai_service.Identify) -> None:
    _sub(parent, "repositoryName", identify.repository_name)
    _sub(parent, "baseURL", _public_root() + url_for("oai.endpoint"))
    _sub(parent, "protocolVersion", "2.0")
    _sub(parent, "adminEmail", identify.admin_email)
    _sub(parent, "earliestDatestamp", identify.earliest_datestamp)
    _sub(parent, "deletedRecord", "persistent")
    _sub(parent, "granularity", "YYYY-MM-DDThh:mm:ssZ")


def _header(parent, header: oai_service.Header) -> None:
    element = _sub(parent, "header", **({"status": "deleted"} if header.deleted else {}))
    _sub(element, "identifier", header.identifier)
    _sub(element, "datestamp", header.datestamp)
    for spec in header.set_specs:
        _sub(element, "setSpec", spec)


def _record(parent, item: oai_service.Item) -> None:
    record = _sub(parent, "record")
    _header(record, item.header)
    if item.metadata is None:
        return
    metadata = _sub(record, "metadata")
    dc = etree.SubElement(
        metadata, _q("dc", OAI_DC_NS), nsmap={"oai_dc": OAI_DC_NS, "dc": DC_NS, "xsi": XSI_NS}
    )
    dc.set(_q("schemaLocation", XSI_NS), OAI_DC_SCHEMA)
    for element in item.metadata:
        node = _sub(dc, element.name, element.value, ns=DC_NS)
        if element.lang:
            node.set(_q("lang", XML_NS), element.lang)


def _resumption(parent, resumption: oai_service.Resumption) -> None:
    attrs = {
        "completeListSize": str(resumption.complete_list_size),
        "cursor": str(resumption.cursor),
    }
    if resumption.expires:
        attrs["expirationDate"] = resumption.expires
    _sub(parent, "resumptionToken", resumption.token, **attrs)
