"""Dynamics → IFS: orders won in Dynamics reach IFS exactly once, and what else Dynamics sends IFS.

Fulfilment and cancellation requests, opportunities and leads as IFS business opportunities, and the
provisioning of what Dataverse must deliver.

Modules: ``events`` (a webhook event as the service layer sees it), ``intake`` (the webhook: ignore, dedupe,
enqueue), ``messages`` (the order queue's envelopes), ``mapping`` (the Dynamics → IFS mapping files),
``orders`` (an order read from Dynamics and pushed to IFS once), ``requests`` (fulfil and cancel, which IFS
decides), ``worker`` (one order message), ``reconcile`` (orders an undelivered webhook left behind),
``opportunities`` (change tracking to business opportunities) and ``provisioning``.
"""
