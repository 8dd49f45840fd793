"""Helpers shared by the test packages; fixtures stay in the conftest.py files."""
