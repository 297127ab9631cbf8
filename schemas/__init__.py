"""Pydantic v2 contracts shared by every stage."""
