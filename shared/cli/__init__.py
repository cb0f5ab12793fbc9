"""The connector's command line: ``python -m shared.cli <command>`` (``--help`` on every command).

The same code the functions run: settings from the environment (or ``local.settings.json`` in the current
folder, as Core Tools reads it), the same composition root, the same service layer. Exit codes: 0 done,
1 done but something needs attention (records parked, checks failed), 2 wrong usage or settings,
3 a system could not be reached or refused the work.
"""
