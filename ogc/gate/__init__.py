"""The one gate: who is calling (``caller``) and which layers exist for them (``visible``)."""
