"""Real-browser tests: Debian Chromium driven by Playwright against pytest-django's live server."""
