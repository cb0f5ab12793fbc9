"""Adapter for IFS Cloud: IAM token, OData queries and paging, ETag reads/writes, bound actions, ``$batch``.

Import from the submodules (``shared.ifs.client`` …); this package imports nothing itself so that
``shared.config`` can use ``shared.ifs.entities`` without a cycle.
"""
