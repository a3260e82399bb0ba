"""What the bot does: the rules, and the policy types they follow.

Each public function takes a ``Database``, owns its transaction and returns plain data (or raises a
``services.errors.Refusal`` that carries what went wrong); the builders in ``commands`` and ``digests``
and the CLI in ``bot`` turn that into words. Imports ``storage`` only.
"""
