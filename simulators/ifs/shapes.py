"""Where each shape the IFS simulator produces comes from: captured (with the source) or assumed (with why).

Listed at ``GET /_admin/shapes``. Client code keeps every assumed behaviour configurable or tolerant.
"""

from __future__ import annotations

from starlette.responses import JSONResponse, Response

from simulators.common.faults import Fault, FaultKind
from simulators.common.provenance import assumed, captured
from simulators.ifs.model import CONFIRMED_ENUM_TYPES, assumed_enum_types

SIM = "ifs"
_KEBOOLA = "keboola/component-ex-ifs cassettes (tests/vectors/ifs/keboola-cassettes)"
_MOREPUDDING = "morepudding/manufacturingPortal real capture (tests/vectors/ifs/customer-orders-real.json)"
_DIGEST = (
    "real CustomerOrderHandling $openapi digest "
    "(tests/vectors/ifs/customer-order-handling-openapi-digest.json)"
)

captured(
    SIM, "token response", f"{_KEBOOLA}/token-client-credentials.json; docs.ifs.com client-credential-flow"
)
assumed(
    SIM,
    "token errors",
    "Keycloak's own bodies (invalid_client / unauthorized_client 'Invalid client or Invalid client "
    "credentials', unsupported_grant_type, 'Realm does not exist') as reported in public Keycloak issues; "
    "no IFS capture",
)
assumed(
    SIM,
    "401 on the API",
    "IFS documents 401 for an expired token; the body {'error':{'message':'Unauthorized'}} is as quoted in "
    "public client code, unverified",
)
captured(SIM, "CustomerOrderSet and CustomerOrderLineSet rows", f"{_MOREPUDDING}; write rules from {_DIGEST}")
captured(
    SIM,
    "collection envelope, $select context, @odata.id only when $select leaves keys out, $top/$skip without "
    "nextLink",
    f"{_KEBOOLA}/query-select-top1.json (keys left out: @odata.id) and paging-top60-skip-142-rows.json "
    "(every key selected: none)",
)
captured(
    SIM,
    "enum type names " + ", ".join(sorted(CONFIRMED_ENUM_TYPES)),
    "knakit/ifs-mcp-server-local src/resources/ifs-common-odata-reference.md "
    "(docs/ifs-api.md, 'Value formats and enums')",
)
assumed(
    SIM,
    "every other enum type name",
    "no capture or document names them (the captured rows show only the identifiers); guessed in IFS's "
    "naming style, so a client must take them from the tenant's $metadata (the simulator refuses a "
    "literal of another enum type): " + ", ".join(assumed_enum_types()),
)
assumed(
    SIM,
    "400 for an enum literal of another type",
    "ODataLib's 'A binary operator with incompatible types was detected' message; no IFS capture",
)
assumed(
    SIM,
    "row order beyond $orderby",
    "Oracle returns rows in no defined order beyond ORDER BY (none without it, ties with it); the simulator "
    "shuffles them per query (stable across one nextLink chain) so that $skip paging without a total order "
    "shows its gaps",
)
assumed(
    SIM,
    "PATCH answers 204 with the ETag unless Prefer: return=representation",
    "OData 4.01's default for updates; IFS's own default is not captured (creates answer 201 with the row)",
)
assumed(
    SIM,
    "timestamp literals without X-Ifs-Time-Zone-Aware-Request read in the server time zone",
    "docs.ifs.com 'Time zone aware APIs' (docs/ifs-api.md, 'Time zones') says server, user or site time zone "
    "depending on the API; the simulator uses one server zone (--server-time-zone, UTC by default)",
)
assumed(
    SIM,
    "server paging with a relative @odata.nextLink",
    "only seen in keboola's hand-written unit test ('Svc.svc/Set?$skiptoken=1'); the default server page "
    "size is undocumented (simulator: --page-size)",
)
captured(SIM, "400 Malformed Request with ODataLib detail", f"{_KEBOOLA}/error-400-malformed-request.json")
captured(SIM, "404 Metadata not found", f"{_KEBOOLA}/error-404-metadata-not-found.json")
assumed(
    SIM,
    "error codes",
    "the recorder redacted every code; MI_METADATA_NOTFOUND, ODP_UNSUPPORTED_URL, "
    "EXPRESSION_PROPERTY_NOT_IN_TYPE and ODP_NOT_IMPLEMENTED are named as seen in public client code; the "
    "other ODP_* codes are made up in that style",
)
assumed(
    SIM,
    "412 on a stale If-Match",
    "IFS documents If-Match but not the status or body of a mismatch; OData's 412 is used",
)
assumed(
    SIM, "501 ODP_NOT_IMPLEMENTED for $expand of a collection", "code seen in public code; status assumed"
)
assumed(
    SIM,
    "CustomerInfoSet, CustomerInfoAddresses, SalesPartSet rows",
    "names and keys from public client code; attributes beyond them, credit limit and payment terms on the "
    "customer row are assumed",
)
assumed(
    SIM,
    "CustomerInfoSet(...)/CommunicationMethods (CustomerInfoCommMethodSet)",
    "the navigation's name is seen in public client code "
    "(docs/ifs-api.md, 'Entity sets the connector uses'); keys CustomerId, CommId, the Method enum "
    "(Phone, EMail, Fax …), Value and MethodDefault are assumed",
)
assumed(
    SIM,
    "SalesQuotationHandling (OrderQuotationSet, OrderQuotationLineSet, QuotationLinesArray)",
    "no public capture: projection name from IFS PL/SQL comments, everything else assumed",
)
assumed(
    SIM,
    "CustomerOrderChargeSet rows (CustomerOrderChargeArray)",
    f"set, navigation and insertable fields from {_DIGEST}; the seeded values (freight, packing, a negative "
    "charge as an order discount), the key (OrderNo, SequenceNo) as a collection and the read shape are "
    "assumed",
)
assumed(
    SIM,
    "BillAddrNoRef and ShipAddrNoRef on CustomerOrderSet",
    "one-to-one references to the customer's address rows, named in IFS's <Key>Ref style; served as the "
    "address row (no capture shows them); $expand-able like CustomerNoRef",
)
assumed(
    SIM,
    "OrderQuotation RevisionNo and line amounts",
    "a quotation's revision as a number on the quotation row (one row per quotation, the current revision) "
    "and DiscountAmountCurr, TaxAmountCurr and GrossAmountCurr on its lines, as on order lines",
)
assumed(
    SIM,
    "BusinessOpportunityHandling.BusinessOpportunitySet (potential orders)",
    "no public capture; assumed as the landing place of Dynamics opportunities",
)
assumed(
    SIM,
    "bound action responses",
    "void actions answer 204 with the row's new ETag; value actions {'value': …} as in public client code; "
    "actions require If-Match (the web client always sends it)",
)
assumed(
    SIM,
    "OrderQuotation_CreateOrder and OrderQuotation_SetWon (SalesQuotationHandling)",
    "no capture or document names the quotation's conversion action; IFS's web client converts a quotation "
    "to an order, so an action bound to OrderQuotationSet is assumed: parameters CustomerPoNo and "
    "WantedDeliveryDate, answer {'value': <new OrderNo>}, the quotation (and its lines) Won; SetWon "
    "closes it as won. The connector takes both names from settings (IFS_QUOTATION_ORDER_ACTION, "
    "IFS_QUOTATION_WON_ACTION)",
)
assumed(
    SIM,
    "BusinessOpportunity_SetWon/SetLost/SetCancelled (BusinessOpportunityHandling)",
    "state changes of a business opportunity through bound actions named in IFS's Entity_Action style, "
    "allowed from Active only; the connector takes the names from d365_opportunities.toml",
)
assumed(
    SIM,
    "$batch",
    "OData multipart format and change-set rules as IFS documents them; no captured exchange",
)


@assumed(
    SIM,
    "414 for a URL over the configured limit",
    "IFS documents no URL limit; the simulator refuses URLs over max_url_length (8192 by default) with "
    "414 and an nginx-style HTML page, as a reverse proxy in front of IFS would; the limit and the body are "
    "guesses, so clients keep their URL budget configurable",
)
def uri_too_long(length: int, limit: int) -> Response:
    """The answer to a request whose URL is longer than the configured limit."""
    body = (
        "<html>\r\n<head><title>414 Request-URI Too Large</title></head>\r\n<body>\r\n"
        "<center><h1>414 Request-URI Too Large</h1></center>\r\n</body>\r\n</html>\r\n"
    )
    return Response(
        body,
        status_code=414,
        media_type="text/html",
        headers={"X-Simulator-Reason": f"URL of {length} characters exceeds the limit of {limit}"},
    )


@assumed(SIM, "429 and 5xx fault bodies", "IFS documents no rate limit and no throttling body")
def fault_response(fault: Fault) -> Response:
    """An injected throttle or server error, in IFS's error shape."""
    headers = (
        {"Retry-After": str(fault.retry_after)}
        if fault.kind is FaultKind.THROTTLE or fault.retry_after
        else {}
    )
    if fault.kind is FaultKind.THROTTLE:
        error = {"code": "ODP_TOO_MANY_REQUESTS", "message": "Too many requests."}
    else:
        error = {"code": "ODP_SERVER_ERROR", "message": f"Simulated {fault.status} fault."}
    return JSONResponse({"error": error}, status_code=fault.status, headers=headers)


@assumed(
    SIM,
    "403 for a projection no permission set grants",
    "IFS documents 403 Forbidden among its API status codes and that access to a projection comes from "
    "permission sets (docs.ifs.com techdocs 24r1 api_explorer responses_and_status_codes; 24r2 permission "
    "sets, projections); the body's code and message were not captured: IFS's error envelope "
    "{error: {code, message}} with the simulator's own words",
)
def forbidden_projection(projection: str) -> Response:
    """403 for a projection the client's user has no permission set for."""
    message = f"Access to projection {projection} is not granted: no permission set gives it."
    return JSONResponse({"error": {"code": "FORBIDDEN", "message": message}}, status_code=403)
