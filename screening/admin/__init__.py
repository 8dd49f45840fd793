"""The clinician's editor: the draft rule set, its audit history, test patients and publishing.

Django's autodiscover imports this package; importing the modules runs their ``@admin.register``.
"""

from screening.admin import drafts, patients, published  # noqa: F401
