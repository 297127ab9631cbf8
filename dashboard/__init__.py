"""The producer dashboard: a FastAPI app (JSON API + one plain HTML/JS/CSS page) over the run/feedback DB.

``dashboard.app.create_app(db_url, renderer=...)`` builds it; ``reelwright serve`` runs it.
"""
