"""Run records: series, episodes, script versions, renders, shots, takes, assets, voice casting.

Revision ID: 0001
Revises:
Create Date: 2026-11-23
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")


def _created() -> sa.Column:
    return sa.Column("created_at", sa.DateTime(), nullable=False)


def upgrade() -> None:
    op.create_table(
        "assets",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("uri", sa.Text(), nullable=False),
        sa.Column("digest", sa.String(length=64), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=True),
        _created(),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_assets")),
        sa.UniqueConstraint("uri", name=op.f("uq_assets_uri")),
    )
    op.create_table(
        "series",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        _created(),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_series")),
        sa.UniqueConstraint("title", name=op.f("uq_series_title")),
    )
    op.create_table(
        "episodes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("series_id", sa.Integer(), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        _created(),
        sa.ForeignKeyConstraint(
            ["series_id"], ["series.id"], name=op.f("fk_episodes_series_id_series"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_episodes")),
        sa.UniqueConstraint("series_id", "number", name=op.f("uq_episodes_series_id_number")),
    )
    op.create_index(op.f("ix_episodes_series_id"), "episodes", ["series_id"])
    op.create_table(
        "voice_casting",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("series_id", sa.Integer(), nullable=False),
        sa.Column("character", sa.String(length=200), nullable=False),
        sa.Column("voice", JSON, nullable=True),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["series_id"], ["series.id"], name=op.f("fk_voice_casting_series_id_series"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_voice_casting")),
        sa.UniqueConstraint("series_id", "character", name=op.f("uq_voice_casting_series_id_character")),
    )
    op.create_table(
        "script_versions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("episode_id", sa.Integer(), nullable=False),
        sa.Column("text_hash", sa.String(length=64), nullable=False),
        sa.Column("format", sa.String(length=32), nullable=False),
        sa.Column("path", sa.Text(), nullable=False),
        _created(),
        sa.ForeignKeyConstraint(
            ["episode_id"],
            ["episodes.id"],
            name=op.f("fk_script_versions_episode_id_episodes"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_script_versions")),
        sa.UniqueConstraint("episode_id", "text_hash", name=op.f("uq_script_versions_episode_id_text_hash")),
    )
    op.create_index(op.f("ix_script_versions_episode_id"), "script_versions", ["episode_id"])
    op.create_table(
        "renders",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("episode_id", sa.Integer(), nullable=False),
        sa.Column("script_version_id", sa.Integer(), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("backend", sa.String(length=64), nullable=False),
        sa.Column("out_dir", sa.Text(), nullable=False),
        sa.Column("episode_uri", sa.Text(), nullable=True),
        sa.Column("started_at", sa.DateTime(), nullable=True),
        sa.Column("finished_at", sa.DateTime(), nullable=True),
        sa.Column("qc", JSON, nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        _created(),
        sa.CheckConstraint(
            "status IN ('queued', 'running', 'succeeded', 'failed')", name=op.f("ck_renders_status")
        ),
        sa.ForeignKeyConstraint(
            ["episode_id"], ["episodes.id"], name=op.f("fk_renders_episode_id_episodes"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["script_version_id"],
            ["script_versions.id"],
            name=op.f("fk_renders_script_version_id_script_versions"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_renders")),
    )
    op.create_index(op.f("ix_renders_episode_id_id"), "renders", ["episode_id", "id"])
    op.create_index(op.f("ix_renders_script_version_id"), "renders", ["script_version_id"])
    op.create_table(
        "shots",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("render_id", sa.Integer(), nullable=False),
        sa.Column("shot_id", sa.String(length=64), nullable=False),
        sa.Column("scene_index", sa.Integer(), nullable=False),
        sa.Column("plan", JSON, nullable=True),
        _created(),
        sa.ForeignKeyConstraint(
            ["render_id"], ["renders.id"], name=op.f("fk_shots_render_id_renders"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_shots")),
        sa.UniqueConstraint("render_id", "shot_id", name=op.f("uq_shots_render_id_shot_id")),
    )
    op.create_index(op.f("ix_shots_shot_id"), "shots", ["shot_id"])
    op.create_table(
        "takes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("shot_pk", sa.Integer(), nullable=False),
        sa.Column("render_id", sa.Integer(), nullable=False),
        sa.Column("take", sa.Integer(), nullable=False),
        sa.Column("seed", sa.BigInteger(), nullable=False),
        sa.Column("content_key", sa.String(length=64), nullable=False),
        sa.Column("asset_id", sa.Integer(), nullable=True),
        sa.Column("asset_uri", sa.Text(), nullable=False),
        sa.Column("digest", sa.String(length=64), nullable=False),
        sa.Column("duration", sa.Float(), nullable=False),
        sa.Column("cached", sa.Boolean(), nullable=False),
        _created(),
        sa.ForeignKeyConstraint(
            ["asset_id"], ["assets.id"], name=op.f("fk_takes_asset_id_assets"), ondelete="SET NULL"
        ),
        sa.ForeignKeyConstraint(
            ["render_id"], ["renders.id"], name=op.f("fk_takes_render_id_renders"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["shot_pk"], ["shots.id"], name=op.f("fk_takes_shot_pk_shots"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_takes")),
        sa.UniqueConstraint("shot_pk", "take", name=op.f("uq_takes_shot_pk_take")),
    )
    op.create_index(op.f("ix_takes_asset_id"), "takes", ["asset_id"])
    op.create_index(op.f("ix_takes_render_id"), "takes", ["render_id"])


def downgrade() -> None:
    for table in (
        "takes",
        "shots",
        "renders",
        "script_versions",
        "voice_casting",
        "episodes",
        "series",
        "assets",
    ):
        op.drop_table(table)
