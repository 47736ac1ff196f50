"""Declaring assets: the decorators, sources, SQL assets, checks, and loading a project's definitions."""
