"""Persistence: the content-addressed asset store and the SQLAlchemy run/feedback database."""
