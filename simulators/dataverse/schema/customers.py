"""The columns of account and contact, as their generated table references list them.

Account: every writable column of the reference
(learn.microsoft.com/power-apps/developer/data-platform/reference/entities/account, "Writable
columns/attributes", with type, MaxLength, ranges and choices) except the image (``EntityImage``), plus the
read-only columns the connector may read. Contact: the columns of the contact reference a customer sync
touches (names, addresses, phones, e-mail, company, birthday, preferences); a documented contact column
outside this list is still "does not exist" here. Lookups to tables the simulator does not serve (``slaid``,
``preferredsystemuserid`` is served) read as null and refuse a bind.
"""

from __future__ import annotations

from simulators.dataverse.tables import (
    CURRENCY,
    EXCHANGE_RATE,
    PAYMENT_TERMS,
    Column,
    Kind,
    address,
    choice,
    lookup,
    memo,
    money,
    read_only,
    text,
)

_DEFAULT_ONLY = (1,)  # choices whose only option is "Default Value"


def _flag(name: str) -> Column:
    return Column(name, Kind.BOOLEAN, default=False)


def _address_details(prefix: str, *, default_only: bool) -> list[Column]:
    """The columns of a composite address beyond the street, city, postal code, state and country."""
    shipping = _DEFAULT_ONLY if default_only else (1, 2, 3, 4, 5, 6, 7)
    return [
        Column(f"{prefix}addressid", Kind.UNIQUEIDENTIFIER),
        choice(f"{prefix}addresstypecode", *(_DEFAULT_ONLY if default_only else (1, 2, 3, 4))),
        text(f"{prefix}county", 50),
        text(f"{prefix}fax", 50),
        choice(f"{prefix}freighttermscode", *(_DEFAULT_ONLY if default_only else (1, 2))),
        Column(f"{prefix}latitude", Kind.DOUBLE, min_value=-90, max_value=90, precision=5),
        Column(f"{prefix}longitude", Kind.DOUBLE, min_value=-180, max_value=180, precision=5),
        text(f"{prefix}name", 200),
        text(f"{prefix}postofficebox", 20),
        text(f"{prefix}primarycontactname", 100),
        choice(f"{prefix}shippingmethodcode", *shipping),
        text(f"{prefix}telephone1", 50),
        text(f"{prefix}telephone2", 50),
        text(f"{prefix}telephone3", 50),
        text(f"{prefix}upszone", 4),
        Column(f"{prefix}utcoffset", Kind.INTEGER, min_value=-1500, max_value=1500),
        read_only(f"{prefix}composite", Kind.MEMO),
    ]


_COMMUNICATION_FLAGS = [
    _flag("donotbulkemail"), _flag("donotbulkpostalmail"), _flag("donotemail"), _flag("donotfax"),
    _flag("donotphone"), _flag("donotpostalmail"), _flag("donotsendmm"), _flag("followemail"),
    _flag("marketingonly"), _flag("participatesinworkflow"),
]  # fmt: skip

_AUDIT = [
    read_only("createdonbehalfby", Kind.LOOKUP, "systemuser"),
    read_only("modifiedonbehalfby", Kind.LOOKUP, "systemuser"),
    read_only("owninguser", Kind.LOOKUP, "systemuser"),
    read_only("owningteam", Kind.LOOKUP, "team"),
    read_only("owneridtype", Kind.ENTITYNAME),
    Column("timezoneruleversionnumber", Kind.INTEGER, min_value=-1, max_value=2147483647),
    Column("utcconversiontimezonecode", Kind.INTEGER, min_value=-1, max_value=2147483647),
    Column("processid", Kind.UNIQUEIDENTIFIER),
    Column("stageid", Kind.UNIQUEIDENTIFIER),
    text("traversedpath", 1250),
]

ACCOUNT_COLUMNS: list[Column] = [
    text("name", 160, "ApplicationRequired"),
    text("accountnumber", 20),
    *money("creditlimit"),
    Column("creditonhold", Kind.BOOLEAN, default=False),
    PAYMENT_TERMS,
    choice("accountcategorycode", 1, 2),
    choice("accountclassificationcode", *_DEFAULT_ONLY),
    choice("accountratingcode", *_DEFAULT_ONLY),
    choice("businesstypecode", *_DEFAULT_ONLY),
    choice("customersizecode", *_DEFAULT_ONLY),
    choice("customertypecode", *range(1, 13)),
    choice("industrycode", *range(1, 34)),
    choice("ownershipcode", 1, 2, 3, 4),
    choice("preferredappointmentdaycode", *range(7)),
    choice("preferredappointmenttimecode", 1, 2, 3),
    choice("preferredcontactmethodcode", 1, 2, 3, 4, 5, default=1),
    choice("shippingmethodcode", *_DEFAULT_ONLY),
    choice("territorycode", *_DEFAULT_ONLY),
    *address("address1_"),
    *_address_details("address1_", default_only=False),
    *address("address2_"),
    *_address_details("address2_", default_only=True),
    text("telephone1", 50),
    text("telephone2", 50),
    text("telephone3", 50),
    text("fax", 50),
    text("emailaddress1", 100),
    text("emailaddress2", 100),
    text("emailaddress3", 100),
    text("websiteurl", 200),
    text("ftpsiteurl", 200),
    text("primarysatoriid", 200),
    text("primarytwitterid", 128),
    text("sic", 20),
    text("stockexchange", 20),
    text("tickersymbol", 10),
    text("yominame", 160),
    Column("numberofemployees", Kind.INTEGER, min_value=0, max_value=1000000000),
    Column("sharesoutstanding", Kind.INTEGER, min_value=0, max_value=1000000000),
    *money("revenue"),
    *money("marketcap"),
    *money("openrevenue", writable=False),
    read_only("opendeals", Kind.INTEGER),
    Column("lastonholdtime", Kind.DATETIME),
    Column("lastusedincampaign", Kind.DATETIME),
    memo("description"),
    *_COMMUNICATION_FLAGS,
    CURRENCY,
    EXCHANGE_RATE,
    lookup("primarycontactid", "contact"),
    lookup("parentaccountid", "account"),
    lookup("originatingleadid", "lead"),
    lookup("preferredsystemuserid", "systemuser"),
    lookup("slaid", "sla"),
    *_AUDIT,
]

CONTACT_COLUMNS: list[Column] = [
    text("firstname", 50, "Recommended"),
    text("middlename", 50),
    text("lastname", 50, "ApplicationRequired"),
    read_only("fullname", Kind.STRING),
    text("salutation", 100),
    text("suffix", 10),
    text("nickname", 100),
    text("jobtitle", 100),
    text("department", 100),
    text("emailaddress1", 100),
    text("emailaddress2", 100),
    text("emailaddress3", 100),
    text("telephone1", 50),
    text("telephone2", 50),
    text("telephone3", 50),
    text("mobilephone", 50),
    text("fax", 50),
    text("websiteurl", 200),
    text("employeeid", 50),
    text("governmentid", 50),
    Column("birthdate", Kind.DATETIME, date_only=True),
    choice("gendercode", 1, 2),
    choice("familystatuscode", 1, 2, 3, 4),
    choice("customertypecode", *_DEFAULT_ONLY),
    choice("preferredcontactmethodcode", 1, 2, 3, 4, 5, default=1),
    PAYMENT_TERMS,
    Column("creditonhold", Kind.BOOLEAN, default=False),
    *money("creditlimit"),
    *address("address1_"),
    *_address_details("address1_", default_only=False),
    *address("address2_"),
    *_address_details("address2_", default_only=True),
    Column("parentcustomerid", Kind.CUSTOMER, targets=("account", "contact")),
    lookup("originatingleadid", "lead"),
    lookup("preferredsystemuserid", "systemuser"),
    memo("description"),
    *_COMMUNICATION_FLAGS,
    CURRENCY,
    EXCHANGE_RATE,
    *_AUDIT,
]
