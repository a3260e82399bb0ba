"""Display shared by both builder rooms (``commands`` and ``digests``): the one Block Kit kit
(``kit``), Slack text safety and limits (``text``), number, date and duration words (``format``)
and Slack API errors in words (``slack_errors``). Imports ``services`` and ``storage`` types only.
"""
