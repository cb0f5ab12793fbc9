"""Operations: status, pause and resume, replay, reconcile, audit, jobs, retention and the system check.

The composition root of everything an operator does (``runtime.Operations``, built once per process from
app settings over the sync runtime); the command line and the admin HTTP functions call the same methods.
The service logic lives in ``shared.sync`` (``status``, ``pause``, ``replay``, ``reconcile``, ``history``,
``jobs``, ``retention``, ``checks``); ``check`` is the "ping your real systems" command's composition.
"""
