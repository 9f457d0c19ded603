"""Change notifications: the outbox of CloudEvents, webhook subscriptions, their delivery.

``events`` records a change in the change's own transaction; ``subscriptions`` keeps who is
told; ``dispatch`` (the server's delivery worker) tells them, signed (``signing``), only at
addresses ``targets`` allows (docs/adr/0014-change-notifications.md).
"""
