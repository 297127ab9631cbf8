"""The work: one subpackage per stage, plain functions with thin Prefect task wrappers."""
