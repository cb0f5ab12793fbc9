"""Every setting the connector reads, declared once (by the feature modules) and gathered here.

``local.settings.sample.json`` lists the same settings, and the README's settings table is generated from
this catalog (``shared.config.reference``, ``make docs``); tests keep both in step.
"""

from __future__ import annotations

from collections.abc import Mapping

from shared.config import d365, dataverse, ifs, operations, platform, sync
from shared.config.setting import Setting

CATALOG: tuple[Setting, ...] = (
    *platform.SETTINGS,
    *dataverse.SETTINGS,
    *ifs.SETTINGS,
    *sync.SETTINGS,
    *d365.SETTINGS,
    *operations.SETTINGS,
)
SETTINGS_BY_NAME: Mapping[str, Setting] = {s.name: s for s in CATALOG}
