"""Platform tables: the message catalog, webhook registrations and the system jobs of asynchronous steps.

Column facts come from the sdkmessage, sdkmessagefilter, serviceendpoint, sdkmessageprocessingstep,
sdkmessageprocessingstepimage and asyncoperation references.
"""

from __future__ import annotations

from simulators.dataverse.tables import (
    CollectionNavigation,
    Column,
    Kind,
    Table,
    choice,
    define_table,
    lookup,
    memo,
    read_only,
    text,
)

# Tables whose rows a system job may be "regarding" (asyncoperation.regardingobjectid; the real lookup
# targets nearly every table).
ASYNC_REGARDING = (
    "account", "contact", "opportunity", "lead", "quote", "quotedetail", "salesorder", "salesorderdetail",
    "product", "quoteclose", "orderclose",
)  # fmt: skip

# The message catalog (sdkmessage/sdkmessagefilter table references): read-only system tables without state,
# seeded by simulators/dataverse/sdkmessages.py.
MESSAGE_CATALOG: tuple[Table, ...] = (
    define_table(
        "sdkmessage", "sdkmessages", "SdkMessage", 4606, "name", ownership="OrganizationOwned",
        columns=[
            read_only("name", Kind.STRING),
            read_only("categoryname", Kind.STRING),
            read_only("isprivate", Kind.BOOLEAN),
            read_only("isactive", Kind.BOOLEAN),
            read_only("isreadonly", Kind.BOOLEAN),
            read_only("autotransact", Kind.BOOLEAN),
            read_only("workflowsdkstepenabled", Kind.BOOLEAN),
            read_only("availability", Kind.INTEGER),
            read_only("customizationlevel", Kind.INTEGER),
        ],
        stateful=False,
        api_writable=False,
        collections=[
            CollectionNavigation("sdkmessageid_sdkmessagefilter", "sdkmessagefilter", "sdkmessageid")
        ],
    ),
    define_table(
        "sdkmessagefilter", "sdkmessagefilters", "SdkMessageFilter", 4607, "name",
        ownership="OrganizationOwned",
        columns=[
            read_only("name", Kind.STRING),
            Column("sdkmessageid", Kind.LOOKUP, "SystemRequired", targets=("sdkmessage",),
                   valid_for_create=False, valid_for_update=False),
            Column("primaryobjecttypecode", Kind.ENTITYNAME, "SystemRequired", valid_for_create=False,
                   valid_for_update=False),
            Column("secondaryobjecttypecode", Kind.ENTITYNAME, "SystemRequired", valid_for_create=False,
                   valid_for_update=False),
            read_only("iscustomprocessingstepallowed", Kind.BOOLEAN),
            read_only("isvisible", Kind.BOOLEAN),
            read_only("workflowsdkstepenabled", Kind.BOOLEAN),
            read_only("availability", Kind.INTEGER),
            read_only("customizationlevel", Kind.INTEGER),
        ],
        stateful=False,
        api_writable=False,
    ),
)  # fmt: skip

# Webhook registration (serviceendpoint, sdkmessageprocessingstep, sdkmessageprocessingstepimage references)
# and the system jobs of asynchronous steps (asyncoperation reference).
WEBHOOK_TABLES: tuple[Table, ...] = (
    define_table(
        "serviceendpoint", "serviceendpoints", "ServiceEndpoint", 4618, "name",
        ownership="OrganizationOwned",
        columns=[
            text("name", 256, "SystemRequired"),
            text("url", 2000),
            choice("contract", 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, required="SystemRequired"),
            choice("authtype", 1, 2, 3, 4, 5, 6, 7, 8),
            Column("authvalue", Kind.STRING, max_length=2048, valid_for_read=False),
            read_only("isauthvalueset", Kind.BOOLEAN),
            choice("messageformat", 1, 2, 3),
            choice("messagecharset", 0, 1),
            choice("connectionmode", 1, 2, required="SystemRequired", default=1),
            choice("userclaim", 1, 2, 3, required="SystemRequired", default=1),
            choice("namespaceformat", 1, 2),
            text("namespaceaddress", 255),
            text("path", 160),
            text("solutionnamespace", 160),
            text("saskeyname", 256),
            memo("description"),
        ],
        stateful=False,
    ),
    define_table(
        "sdkmessageprocessingstep", "sdkmessageprocessingsteps", "SdkMessageProcessingStep", 4608,
        "name", ownership="OrganizationOwned",
        columns=[
            text("name", 256, "SystemRequired"),
            text("description", 256),
            choice("stage", 5, 10, 15, 20, 25, 30, 35, 40, 45, 50, 55, 80, 90, required="SystemRequired"),
            choice("mode", 0, 1, required="SystemRequired", default=0),
            Column("rank", Kind.INTEGER, "SystemRequired"),
            choice("supporteddeployment", 0, 1, 2, required="SystemRequired", default=0),
            choice("invocationsource", -1, 0, 1, required="SystemRequired", default=0),
            Column("asyncautodelete", Kind.BOOLEAN, "SystemRequired", default=False),
            text("filteringattributes", 100000),
            text("configuration", 1073741823),
            lookup("eventhandler", "plugintype", "serviceendpoint", required="SystemRequired"),
            lookup("sdkmessageid", "sdkmessage", required="SystemRequired"),
            lookup("sdkmessagefilterid", "sdkmessagefilter"),
            lookup("impersonatinguserid", "systemuser"),
        ],
    ),
    define_table(
        "sdkmessageprocessingstepimage", "sdkmessageprocessingstepimages",
        "SdkMessageProcessingStepImage", 4615, "name", ownership="OrganizationOwned",
        columns=[
            text("name", 256),
            text("entityalias", 256, "SystemRequired"),
            choice("imagetype", 0, 1, 2, required="SystemRequired"),
            text("messagepropertyname", 256, "SystemRequired"),
            text("attributes", 100000),
            text("relatedattributename", 256),
            text("description", 256),
            lookup("sdkmessageprocessingstepid", "sdkmessageprocessingstep", required="SystemRequired"),
        ],
        stateful=False,
    ),
    define_table(
        "asyncoperation", "asyncoperations", "AsyncOperation", 4700, "name", ownership="UserOwned",
        columns=[
            read_only("name", Kind.STRING),
            read_only("operationtype", Kind.PICKLIST),
            read_only("messagename", Kind.STRING),
            read_only("primaryentitytype", Kind.ENTITYNAME),
            read_only("regardingobjectid", Kind.LOOKUP, *ASYNC_REGARDING),
            read_only("owningextensionid", Kind.LOOKUP, "sdkmessageprocessingstep"),
            read_only("correlationid", Kind.UNIQUEIDENTIFIER),
            read_only("requestid", Kind.UNIQUEIDENTIFIER),
            read_only("depth", Kind.INTEGER),
            read_only("retrycount", Kind.INTEGER),
            read_only("errorcode", Kind.INTEGER),
            read_only("message", Kind.MEMO),
            read_only("friendlymessage", Kind.MEMO),
            read_only("data", Kind.MEMO),
            read_only("startedon", Kind.DATETIME),
            read_only("completedon", Kind.DATETIME),
            Column("postponeuntil", Kind.DATETIME),
        ],
        states=(0, 1, 2, 3),
    ),
)  # fmt: skip
