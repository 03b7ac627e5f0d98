"""What a person adds to jobs beyond running them (issue 21): labels, edits of jobs that have not run, templates.

One mixin for the backends' store classes, so that each lists it once.
"""

from __future__ import annotations

from .edit import EditQueries
from .labels import LabelQueries
from .life import LifeQueries
from .templates import TemplateQueries


class MetaQueries(LabelQueries, EditQueries, TemplateQueries, LifeQueries):
    """Labels, edits and templates."""
