"""The clinician's editor: the draft rule set, its audit history, test patients, publishing and sign-in locks.

Django's autodiscover imports this package; importing the modules runs their ``@admin.register``.
"""

from screening.admin import accounts, drafts, patients, published  # noqa: F401
