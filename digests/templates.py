"""The one Jinja2 environment for digest templates: the packaged templates, overridable by files of the
same name in the operator's directory (``DIGEST_TEMPLATES``). ``slack_escape`` is a filter; templates
emit Block Kit JSON, so every value also goes through ``tojson``."""

from __future__ import annotations

import functools
from pathlib import Path

from jinja2 import ChoiceLoader, Environment, FileSystemLoader, PackageLoader, StrictUndefined

from blocks.text import slack_escape


@functools.cache
def environment(override_dir: Path | None = None) -> Environment:
    loaders: list[FileSystemLoader | PackageLoader] = [PackageLoader("digests", "templates")]
    if override_dir is not None:
        loaders.insert(0, FileSystemLoader(str(override_dir)))
    env = Environment(
        loader=ChoiceLoader(loaders),
        autoescape=False,
        undefined=StrictUndefined,
        keep_trailing_newline=True,
    )
    env.filters["slack_escape"] = slack_escape
    return env
