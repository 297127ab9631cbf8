"""Prefect flows that only compose tasks, and the command-line interface."""
