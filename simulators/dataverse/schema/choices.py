"""The labels of the organization's choices, state and status reasons, and yes/no columns.

They give the ``OptionSet`` of attribute metadata and the formatted values of rows. Labels come from the
generated table references (account, salesorder, salesorderdetail, quote, opportunity, lead, product,
serviceendpoint, sdkmessageprocessingstep, asyncoperation; docs/dataverse-api.md, "Sales orders and lines",
and the references' "Choices/Options" tables) and from the real ``opportunity`` metadata under tests/vectors.
A custom column carries its own labels (``Column.labels``); a choice the registry does not know is labelled by
its value.
"""

from __future__ import annotations

from collections.abc import Mapping

from simulators.dataverse.tables import Column, Kind, Table

Labels = Mapping[int, str]

_ACTIVE_INACTIVE: Labels = {0: "Active", 1: "Inactive"}
_STATUS_ACTIVE_INACTIVE: Labels = {1: "Active", 2: "Inactive"}
_ACTIVITY_STATES: Labels = {0: "Open", 1: "Completed", 2: "Canceled"}
_ACTIVITY_STATUSES: Labels = {1: "Open", 2: "Completed", 3: "Canceled"}

# table -> (state labels, status labels)
STATES: Mapping[str, tuple[Labels, Labels]] = {
    "salesorder": (
        {0: "Active", 1: "Submitted", 2: "Canceled", 3: "Fulfilled", 4: "Invoiced"},
        {
            1: "New",
            2: "Pending",
            3: "In Progress",
            4: "No Money",
            100001: "Complete",
            100002: "Partial",
            100003: "Invoiced",
        },
    ),
    "quote": (
        {0: "Draft", 1: "Active", 2: "Won", 3: "Closed"},
        {1: "In Progress", 2: "In Progress", 3: "Open", 4: "Won", 5: "Lost", 6: "Canceled", 7: "Revised"},
    ),
    "opportunity": (
        {0: "Open", 1: "Won", 2: "Lost"},
        {1: "In Progress", 2: "On Hold", 3: "Won", 4: "Canceled", 5: "Out-Sold"},
    ),
    "lead": (
        {0: "Open", 1: "Qualified", 2: "Disqualified"},
        {
            1: "New",
            2: "Contacted",
            3: "Qualified",
            4: "Lost",
            5: "Cannot Contact",
            6: "No Longer Interested",
            7: "Canceled",
        },
    ),
    "quoteclose": (_ACTIVITY_STATES, _ACTIVITY_STATUSES),
    "orderclose": (_ACTIVITY_STATES, _ACTIVITY_STATUSES),
    "task": (
        _ACTIVITY_STATES,
        {
            2: "Not Started",
            3: "In Progress",
            4: "Waiting on someone else",
            7: "Deferred",
            5: "Completed",
            6: "Canceled",
        },
    ),
    "sdkmessageprocessingstep": ({0: "Enabled", 1: "Disabled"}, {1: "Enabled", 2: "Disabled"}),
    "asyncoperation": (
        {0: "Ready", 1: "Suspended", 2: "Locked", 3: "Completed"},
        {
            0: "Waiting For Resources",
            10: "Waiting",
            20: "In Progress",
            21: "Pausing",
            22: "Canceling",
            30: "Succeeded",
            31: "Failed",
            32: "Canceled",
        },
    ),
}

_PAYMENT_TERMS: Labels = {1: "Net 30", 2: "2% 10, Net 30", 3: "Net 45", 4: "Net 60"}
_SHIPPING: Labels = {
    1: "Airborne",
    2: "DHL",
    3: "FedEx",
    4: "UPS",
    5: "Postal Mail",
    6: "Full Load",
    7: "Will Call",
}
_LINE_TYPES: Labels = {
    1: "Product",
    2: "Bundle",
    3: "Required Bundle",
    4: "Optional Bundle",
    5: "Project-based Service",
}

# column -> labels, for every table that has the column (a table-specific entry below wins)
COMMON: Mapping[str, Labels] = {
    "paymenttermscode": _PAYMENT_TERMS,
    "shippingmethodcode": _SHIPPING,
    "address1_shippingmethodcode": _SHIPPING,
    "address2_shippingmethodcode": _SHIPPING,
    "address1_addresstypecode": {1: "Bill To", 2: "Ship To", 3: "Primary", 4: "Other"},
    "address2_addresstypecode": {1: "Default Value"},
    "address1_freighttermscode": {1: "FOB", 2: "No Charge"},
    "address2_freighttermscode": {1: "Default Value"},
    "producttypecode": _LINE_TYPES,
    "skippricecalculation": {
        0: "DoPriceCalcAlways",
        1: "SkipPriceCalcOnCreate",
        2: "SkipPriceCalcOnUpdate",
        3: "SkipPriceCalcOnUpSert",
    },
    "preferredcontactmethodcode": {1: "Any", 2: "Email", 3: "Phone", 4: "Fax", 5: "Mail"},
    "prioritycode": {0: "Low", 1: "Normal", 2: "High"},
    "pricingerrorcode": {
        0: "None",
        1: "Detail Error",
        2: "Missing Price Level",
        3: "Inactive Price Level",
        4: "Missing Quantity",
        5: "Missing Unit Price",
        6: "Missing Product",
        7: "Invalid Product",
        8: "Missing Pricing Code",
        9: "Invalid Pricing Code",
        10: "Missing UOM",
        11: "Product Not In Price Level",
        12: "Missing Price Level Amount",
        13: "Missing Price Level Percentage",
        14: "Missing Price",
        15: "Missing Current Cost",
        16: "Missing Standard Cost",
        17: "Invalid Price Level Amount",
        18: "Invalid Price Level Percentage",
        19: "Invalid Price",
        20: "Invalid Current Cost",
        21: "Invalid Standard Cost",
        22: "Invalid Rounding Policy",
        23: "Invalid Rounding Option",
        24: "Invalid Rounding Amount",
        25: "Price Calculation Error",
        26: "Invalid Discount Type",
        27: "Discount Type Invalid State",
        28: "Invalid Discount",
        29: "Invalid Quantity",
        30: "Invalid Pricing Precision",
        31: "Missing Product Default UOM",
        32: "Missing Product UOM Schedule ",
        33: "Inactive Discount Type",
        34: "Invalid Price Level Currency",
        35: "Price Attribute Out Of Range",
        36: "Base Currency Attribute Overflow",
        37: "Base Currency Attribute Underflow",
        38: "Transaction currency is not set for the product price list item",
    },
}

BY_TABLE: Mapping[str, Mapping[str, Labels]] = {
    "account": {
        "accountcategorycode": {1: "Preferred Customer", 2: "Standard"},
        "accountclassificationcode": {1: "Default Value"},
        "accountratingcode": {1: "Default Value"},
        "businesstypecode": {1: "Default Value"},
        "customersizecode": {1: "Default Value"},
        "customertypecode": {
            1: "Competitor",
            2: "Consultant",
            3: "Customer",
            4: "Investor",
            5: "Partner",
            6: "Influencer",
            7: "Press",
            8: "Prospect",
            9: "Reseller",
            10: "Supplier",
            11: "Vendor",
            12: "Other",
        },
        "industrycode": {
            1: "Accounting",
            2: "Agriculture and Non-petrol Natural Resource Extraction",
            3: "Broadcasting Printing and Publishing",
            4: "Brokers",
            5: "Building Supply Retail",
            6: "Business Services",
            7: "Consulting",
            8: "Consumer Services",
            9: "Design, Direction and Creative Management",
            10: "Distributors, Dispatchers and Processors",
            11: "Doctor's Offices and Clinics",
            12: "Durable Manufacturing",
            13: "Eating and Drinking Places",
            14: "Entertainment Retail",
            15: "Equipment Rental and Leasing",
            16: "Financial",
            17: "Food and Tobacco Processing",
            18: "Inbound Capital Intensive Processing",
            19: "Inbound Repair and Services",
            20: "Insurance",
            21: "Legal Services",
            22: "Non-Durable Merchandise Retail",
            23: "Outbound Consumer Service",
            24: "Petrochemical Extraction and Distribution",
            25: "Service Retail",
            26: "SIG Affiliations",
            27: "Social Services",
            28: "Special Outbound Trade Contractors",
            29: "Specialty Realty",
            30: "Transportation",
            31: "Utility Creation and Distribution",
            32: "Vehicle Retail",
            33: "Wholesale",
        },
        "ownershipcode": {1: "Public", 2: "Private", 3: "Subsidiary", 4: "Other"},
        "preferredappointmentdaycode": {
            0: "Sunday",
            1: "Monday",
            2: "Tuesday",
            3: "Wednesday",
            4: "Thursday",
            5: "Friday",
            6: "Saturday",
        },
        "preferredappointmenttimecode": {1: "Morning", 2: "Afternoon", 3: "Evening"},
        "territorycode": {1: "Default Value"},
    },
    "contact": {
        "gendercode": {1: "Male", 2: "Female"},
        "familystatuscode": {1: "Single", 2: "Married", 3: "Divorced", 4: "Widowed"},
        "customertypecode": {1: "Default Value"},
    },
    "opportunity": {
        "opportunityratingcode": {1: "Hot", 2: "Warm", 3: "Cold"},
        "purchasetimeframe": {
            0: "Immediate",
            1: "This Quarter",
            2: "Next Quarter",
            3: "This Year",
            4: "Unknown",
        },
        "budgetstatus": {0: "No Committed Budget", 1: "May Buy", 2: "Can Buy", 3: "Will Buy"},
        "purchaseprocess": {0: "Individual", 1: "Committee", 2: "Unknown"},
        "salesstagecode": {1: "Default Value"},
    },
    "lead": {
        "leadsourcecode": {
            1: "Advertisement",
            2: "Employee Referral",
            3: "External Referral",
            4: "Partner",
            5: "Public Relations",
            6: "Seminar",
            7: "Trade Show",
            8: "Web",
            9: "Word of Mouth",
            10: "Other",
        },
        "leadqualitycode": {1: "Hot", 2: "Warm", 3: "Cold"},
    },
    "salesorder": {"ordercreationmethod": {776160000: "Unknown", 776160001: "Win Quote"}},
    "product": {
        "productstructure": {1: "Product", 2: "Product Family", 3: "Product Bundle"},
        "producttypecode": {1: "Sales Inventory", 2: "Miscellaneous Charges", 3: "Services", 4: "Flat Fees"},
    },
    "productpricelevel": {
        "pricingmethodcode": {
            1: "Currency Amount",
            2: "Percent of List",
            3: "Percent Markup - Current Cost",
            4: "Percent Margin - Current Cost",
            5: "Percent Markup - Standard Cost",
            6: "Percent Margin - Standard Cost",
        },
        "quantitysellingcode": {1: "No Control", 2: "Whole", 3: "Whole and Fractional"},
    },
    "serviceendpoint": {
        "contract": {
            1: "OneWay",
            2: "Queue",
            3: "Rest",
            4: "TwoWay",
            5: "Topic",
            6: "Queue (Persistent)",
            7: "Event Hub",
            8: "Webhook",
            9: "Event Grid",
            10: "Managed Data Lake",
        },
        "authtype": {
            1: "ACS",
            2: "SAS Key",
            3: "SAS Token",
            4: "Webhook Key",
            5: "Http Header",
            6: "Http Query String",
            7: "Connection String",
            8: "Access Key",
        },
        "messageformat": {1: "Binary XML", 2: "Json", 3: "Text XML"},
        "messagecharset": {0: "Default", 1: "UTF8"},
        "connectionmode": {1: "Normal", 2: "Federated"},
        "userclaim": {1: "None", 2: "UserId", 3: "UserInfo"},
        "namespaceformat": {1: "Namespace Name", 2: "Namespace Address"},
    },
    "sdkmessageprocessingstep": {
        "stage": {
            5: "Initial Pre-operation (For internal use only)",
            10: "Pre-validation",
            15: "Internal Pre-operation Before External Plugins (For internal use only)",
            20: "Pre-operation",
            25: "Internal Pre-operation After External Plugins (For internal use only)",
            30: "Main Operation (For internal use only)",
            35: "Internal Post-operation Before External Plugins (For internal use only)",
            40: "Post-operation",
            45: "Internal Post-operation After External Plugins (For internal use only)",
            50: "Post-operation (Deprecated)",
            55: "Final Post-operation (For internal use only)",
            80: "Pre-Commit stage fired before transaction commit (For internal use only)",
            90: "Post-Commit stage fired after transaction commit (For internal use only)",
        },
        "mode": {0: "Synchronous", 1: "Asynchronous"},
        "supporteddeployment": {
            0: "Server Only",
            1: "Microsoft Dynamics 365 Client for Outlook Only",
            2: "Both",
        },
        "invocationsource": {-1: "Internal", 0: "Parent", 1: "Child"},
    },
    "sdkmessageprocessingstepimage": {"imagetype": {0: "PreImage", 1: "PostImage", 2: "Both"}},
    "systemuser": {
        "accessmode": {
            0: "Read-Write",
            1: "Administrative",
            2: "Read",
            3: "Support User",
            4: "Non-interactive",
            5: "Delegated Admin",
            6: "Unknown",
        }
    },
}

# yes/no columns whose labels are not "Yes"/"No" (table references' TrueOption/FalseOption)
BOOLEANS: Mapping[str, tuple[str, str]] = {
    "ispriceoverridden": ("Override Price", "Use Default"),
    "isproductoverridden": ("Write In", "Existing"),
    "ispricelocked": ("Yes", "No"),
    "donotemail": ("Do Not Allow", "Allow"),
    "donotphone": ("Do Not Allow", "Allow"),
    "donotfax": ("Do Not Allow", "Allow"),
    "donotpostalmail": ("Do Not Allow", "Allow"),
    "donotbulkemail": ("Do Not Allow", "Allow"),
}


def labels(table: Table, column: Column) -> Labels:
    """Value -> label of a choice, state or status column (its options, labelled)."""
    if column.labels:
        return dict(column.labels)
    if column.kind is Kind.STATE or column.kind is Kind.STATUS:
        states, statuses = STATES.get(table.logical_name, (_ACTIVE_INACTIVE, _STATUS_ACTIVE_INACTIVE))
        return states if column.kind is Kind.STATE else statuses
    known = BY_TABLE.get(table.logical_name, {}).get(column.name) or COMMON.get(column.name)
    if column.name == "industrycode" and not known:
        known = BY_TABLE["account"]["industrycode"]
    found: dict[int, str] = dict(known or {})
    for value in column.options:
        found.setdefault(value, str(value))
    return found


def boolean_labels(column: Column) -> tuple[str, str]:
    """(label of true, label of false) of a yes/no column."""
    if column.labels:
        named = dict(column.labels)
        return named.get(1, "Yes"), named.get(0, "No")
    return BOOLEANS.get(column.name, ("Yes", "No"))
