"""The clinician's editor: the draft rule set, its audit history, test patients, publishing and sign-in locks.

Django's autodiscover imports this package; importing the modules runs their ``@admin.register``.
"""

from django.contrib import admin

from screening.admin import accounts, drafts, patients, published, review  # noqa: F401

# What every admin page and the browser tab call the site (Django's own name is never shown).
admin.site.site_header = admin.site.site_title = "Ruxguide rules"
admin.site.index_title = "The rules patients see, and the draft"
