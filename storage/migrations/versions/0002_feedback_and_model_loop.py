"""Users, API tokens, the tag taxonomy, feedback (tags, regions), decisions, viewer metrics, datasets, model
versions, training runs; renders gain who queued them, the retakes asked for, and an idempotency key.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-23
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")

# The taxonomy as of this revision (later revisions add tags with their own inserts).
TAGS = [
    ("great_take", True, "use this take as a positive example"),
    ("good_performance", True, "acting/voice delivery lands"),
    ("good_framing", True, "composition and camera move work"),
    ("lip_sync_off", False, "mouth movement does not match the dialogue"),
    ("wrong_emotion", False, "delivery or expression contradicts the script's emotion"),
    ("audio_mix", False, "levels, ducking, noise or clipping problems"),
    ("artefact", False, "visual glitches: warping, flicker, melted hands or faces"),
    ("continuity", False, "props, wardrobe, lighting or positions jump between shots"),
    ("character_inconsistent", False, "a character's face, voice or costume drifts"),
    ("wrong_framing", False, "shot type or camera move does not fit the beat"),
    ("pacing", False, "the shot is too long or too short"),
    ("subtitle_error", False, "subtitle text, timing or placement is wrong"),
    ("text_render", False, "on-screen text or captions are garbled"),
    ("off_script", False, "the shot does not show what the script says"),
]


def upgrade() -> None:
    op.create_table(
        "tags",
        sa.Column("name", sa.String(length=40), nullable=False),
        sa.Column("positive", sa.Boolean(), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_tags")),
    )
    tags = sa.table(
        "tags",
        sa.column("name", sa.String),
        sa.column("positive", sa.Boolean),
        sa.column("description", sa.Text),
    )
    op.bulk_insert(tags, [{"name": n, "positive": p, "description": d} for n, p, d in TAGS])
    op.create_table(
        "users",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("role", sa.String(length=16), nullable=False),
        sa.Column("disabled", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.CheckConstraint(
            "role IN ('producer', 'analyst', 'ingester', 'admin')", name=op.f("ck_users_role")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_users")),
        sa.UniqueConstraint("name", name=op.f("uq_users_name")),
    )
    op.create_table(
        "api_tokens",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("prefix", sa.String(length=16), nullable=False),
        sa.Column("label", sa.String(length=200), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("last_used_at", sa.DateTime(), nullable=True),
        sa.Column("revoked_at", sa.DateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_api_tokens_user_id_users"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_api_tokens")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_api_tokens_token_hash")),
    )
    with op.batch_alter_table("api_tokens", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_api_tokens_user_id"), ["user_id"], unique=False)

    op.create_table(
        "datasets",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("manifest_uri", sa.Text(), nullable=False),
        sa.Column("manifest_hash", sa.String(length=64), nullable=False),
        sa.Column("items", sa.Integer(), nullable=False),
        sa.Column("db_state", JSON, nullable=True),
        sa.Column("db_state_hash", sa.String(length=64), nullable=False),
        sa.Column("filters", JSON, nullable=True),
        sa.Column("created_by_id", sa.Integer(), nullable=True),
        sa.Column("idempotency_key", sa.String(length=200), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["created_by_id"], ["users.id"], name=op.f("fk_datasets_created_by_id_users"), ondelete="SET NULL"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_datasets")),
        sa.UniqueConstraint("idempotency_key", name=op.f("uq_datasets_idempotency_key")),
        sa.UniqueConstraint("manifest_hash", name=op.f("uq_datasets_manifest_hash")),
        sa.UniqueConstraint("name", name=op.f("uq_datasets_name")),
    )
    op.create_table(
        "model_versions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("checkpoint_uri", sa.Text(), nullable=False),
        sa.Column("checkpoint_hash", sa.String(length=64), nullable=False),
        sa.Column("parent_id", sa.Integer(), nullable=True),
        sa.Column("dataset_id", sa.Integer(), nullable=True),
        sa.Column("metrics", JSON, nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("notes", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("decided_at", sa.DateTime(), nullable=True),
        sa.CheckConstraint(
            "status IN ('candidate', 'promoted', 'rejected')", name=op.f("ck_model_versions_status")
        ),
        sa.ForeignKeyConstraint(
            ["dataset_id"],
            ["datasets.id"],
            name=op.f("fk_model_versions_dataset_id_datasets"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["parent_id"],
            ["model_versions.id"],
            name=op.f("fk_model_versions_parent_id_model_versions"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_model_versions")),
        sa.UniqueConstraint("checkpoint_hash", name=op.f("uq_model_versions_checkpoint_hash")),
        sa.UniqueConstraint("name", name=op.f("uq_model_versions_name")),
    )
    with op.batch_alter_table("model_versions", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_model_versions_dataset_id"), ["dataset_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_model_versions_parent_id"), ["parent_id"], unique=False)
        batch_op.create_index(
            "uq_model_versions_one_promoted",
            ["status"],
            unique=True,
            sqlite_where=sa.text("status = 'promoted'"),
            postgresql_where=sa.text("status = 'promoted'"),
        )

    op.create_table(
        "viewer_metrics",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("episode_id", sa.Integer(), nullable=False),
        sa.Column("source", sa.String(length=64), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("views", sa.BigInteger(), nullable=False),
        sa.Column("watch_through", sa.Float(), nullable=True),
        sa.Column("drop_off", JSON, nullable=True),
        sa.Column("likes", sa.BigInteger(), nullable=False),
        sa.Column("shares", sa.BigInteger(), nullable=False),
        sa.Column("ingested_by_id", sa.Integer(), nullable=True),
        sa.Column("idempotency_key", sa.String(length=200), nullable=True),
        sa.Column("request_hash", sa.String(length=64), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.CheckConstraint(
            "views >= 0 AND likes >= 0 AND shares >= 0", name=op.f("ck_viewer_metrics_counts")
        ),
        sa.CheckConstraint(
            "watch_through IS NULL OR (watch_through >= 0 AND watch_through <= 1)",
            name=op.f("ck_viewer_metrics_watch_through"),
        ),
        sa.ForeignKeyConstraint(
            ["episode_id"],
            ["episodes.id"],
            name=op.f("fk_viewer_metrics_episode_id_episodes"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["ingested_by_id"],
            ["users.id"],
            name=op.f("fk_viewer_metrics_ingested_by_id_users"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_viewer_metrics")),
        sa.UniqueConstraint(
            "episode_id", "source", "day", name=op.f("uq_viewer_metrics_episode_id_source_day")
        ),
        sa.UniqueConstraint("idempotency_key", name=op.f("uq_viewer_metrics_idempotency_key")),
    )
    with op.batch_alter_table("viewer_metrics", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_viewer_metrics_ingested_by_id"), ["ingested_by_id"], unique=False
        )

    op.create_table(
        "training_runs",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("dataset_id", sa.Integer(), nullable=False),
        sa.Column("base_model_id", sa.Integer(), nullable=True),
        sa.Column("output_model_id", sa.Integer(), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("config", JSON, nullable=True),
        sa.Column("metrics", JSON, nullable=True),
        sa.Column("flow_run_id", sa.String(length=64), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("idempotency_key", sa.String(length=200), nullable=True),
        sa.Column("started_at", sa.DateTime(), nullable=True),
        sa.Column("finished_at", sa.DateTime(), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.CheckConstraint(
            "status IN ('queued', 'running', 'succeeded', 'failed')", name=op.f("ck_training_runs_status")
        ),
        sa.ForeignKeyConstraint(
            ["base_model_id"],
            ["model_versions.id"],
            name=op.f("fk_training_runs_base_model_id_model_versions"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["dataset_id"], ["datasets.id"], name=op.f("fk_training_runs_dataset_id_datasets")
        ),
        sa.ForeignKeyConstraint(
            ["output_model_id"],
            ["model_versions.id"],
            name=op.f("fk_training_runs_output_model_id_model_versions"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_training_runs")),
        sa.UniqueConstraint("idempotency_key", name=op.f("uq_training_runs_idempotency_key")),
    )
    with op.batch_alter_table("training_runs", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_training_runs_dataset_id"), ["dataset_id"], unique=False)

    op.create_table(
        "decisions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=8), nullable=False),
        sa.Column("episode_id", sa.Integer(), nullable=False),
        sa.Column("render_id", sa.Integer(), nullable=True),
        sa.Column("shot_id", sa.String(length=64), nullable=False),
        sa.Column("take_pk", sa.Integer(), nullable=True),
        sa.Column("take_number", sa.Integer(), nullable=True),
        sa.Column("retake_render_id", sa.Integer(), nullable=True),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("idempotency_key", sa.String(length=200), nullable=True),
        sa.Column("request_hash", sa.String(length=64), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.CheckConstraint("kind IN ('approve', 'retake')", name=op.f("ck_decisions_kind")),
        sa.ForeignKeyConstraint(
            ["episode_id"], ["episodes.id"], name=op.f("fk_decisions_episode_id_episodes"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["render_id"], ["renders.id"], name=op.f("fk_decisions_render_id_renders"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["retake_render_id"],
            ["renders.id"],
            name=op.f("fk_decisions_retake_render_id_renders"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["take_pk"], ["takes.id"], name=op.f("fk_decisions_take_pk_takes"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name=op.f("fk_decisions_user_id_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_decisions")),
        sa.UniqueConstraint("idempotency_key", name=op.f("uq_decisions_idempotency_key")),
    )
    with op.batch_alter_table("decisions", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_decisions_episode_id_id"), ["episode_id", "id"], unique=False)
        batch_op.create_index(batch_op.f("ix_decisions_render_id"), ["render_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_decisions_retake_render_id"), ["retake_render_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_decisions_take_pk"), ["take_pk"], unique=False)
        batch_op.create_index(batch_op.f("ix_decisions_user_id"), ["user_id"], unique=False)

    op.create_table(
        "feedback",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("target", sa.String(length=8), nullable=False),
        sa.Column("episode_id", sa.Integer(), nullable=False),
        sa.Column("render_id", sa.Integer(), nullable=True),
        sa.Column("shot_pk", sa.Integer(), nullable=True),
        sa.Column("shot_id", sa.String(length=64), nullable=True),
        sa.Column("take_pk", sa.Integer(), nullable=True),
        sa.Column("rating", sa.SmallInteger(), nullable=True),
        sa.Column("comment", sa.Text(), nullable=True),
        sa.Column("t_start", sa.Float(), nullable=True),
        sa.Column("t_end", sa.Float(), nullable=True),
        sa.Column("idempotency_key", sa.String(length=200), nullable=True),
        sa.Column("request_hash", sa.String(length=64), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.CheckConstraint("target != 'shot' OR shot_pk IS NOT NULL", name=op.f("ck_feedback_shot_target")),
        sa.CheckConstraint("target != 'take' OR take_pk IS NOT NULL", name=op.f("ck_feedback_take_target")),
        sa.CheckConstraint("target IN ('episode', 'shot', 'take')", name=op.f("ck_feedback_target")),
        sa.CheckConstraint(
            "rating IS NULL OR (rating >= 1 AND rating <= 5)", name=op.f("ck_feedback_rating")
        ),
        sa.CheckConstraint(
            "t_end IS NULL OR t_start IS NULL OR t_end >= t_start", name=op.f("ck_feedback_time_range")
        ),
        sa.CheckConstraint("t_start IS NULL OR t_start >= 0", name=op.f("ck_feedback_t_start")),
        sa.ForeignKeyConstraint(
            ["episode_id"], ["episodes.id"], name=op.f("fk_feedback_episode_id_episodes"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["render_id"], ["renders.id"], name=op.f("fk_feedback_render_id_renders"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["shot_pk"], ["shots.id"], name=op.f("fk_feedback_shot_pk_shots"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["take_pk"], ["takes.id"], name=op.f("fk_feedback_take_pk_takes"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name=op.f("fk_feedback_user_id_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_feedback")),
        sa.UniqueConstraint("idempotency_key", name=op.f("uq_feedback_idempotency_key")),
    )
    with op.batch_alter_table("feedback", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_feedback_episode_id_id"), ["episode_id", "id"], unique=False)
        batch_op.create_index(batch_op.f("ix_feedback_render_id"), ["render_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_feedback_shot_id"), ["shot_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_feedback_shot_pk"), ["shot_pk"], unique=False)
        batch_op.create_index(batch_op.f("ix_feedback_take_pk"), ["take_pk"], unique=False)
        batch_op.create_index(batch_op.f("ix_feedback_user_id"), ["user_id"], unique=False)

    op.create_table(
        "feedback_regions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("feedback_id", sa.Integer(), nullable=False),
        sa.Column("t", sa.Float(), nullable=False),
        sa.Column("x", sa.Float(), nullable=False),
        sa.Column("y", sa.Float(), nullable=False),
        sa.Column("w", sa.Float(), nullable=False),
        sa.Column("h", sa.Float(), nullable=False),
        sa.Column("label", sa.String(length=200), nullable=True),
        sa.CheckConstraint("t >= 0", name=op.f("ck_feedback_regions_t")),
        sa.CheckConstraint(
            "x + w <= 1.000001 AND y + h <= 1.000001", name=op.f("ck_feedback_regions_inside_frame")
        ),
        sa.CheckConstraint(
            "x >= 0 AND y >= 0 AND w > 0 AND h > 0", name=op.f("ck_feedback_regions_positive")
        ),
        sa.ForeignKeyConstraint(
            ["feedback_id"],
            ["feedback.id"],
            name=op.f("fk_feedback_regions_feedback_id_feedback"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_feedback_regions")),
    )
    with op.batch_alter_table("feedback_regions", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_feedback_regions_feedback_id"), ["feedback_id"], unique=False)

    op.create_table(
        "feedback_tags",
        sa.Column("feedback_id", sa.Integer(), nullable=False),
        sa.Column("tag", sa.String(length=40), nullable=False),
        sa.ForeignKeyConstraint(
            ["feedback_id"],
            ["feedback.id"],
            name=op.f("fk_feedback_tags_feedback_id_feedback"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(["tag"], ["tags.name"], name=op.f("fk_feedback_tags_tag_tags")),
        sa.PrimaryKeyConstraint("feedback_id", "tag", name=op.f("pk_feedback_tags")),
    )
    with op.batch_alter_table("feedback_tags", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_feedback_tags_tag"), ["tag"], unique=False)

    with op.batch_alter_table("renders", schema=None) as batch_op:
        batch_op.add_column(sa.Column("requested_by_id", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("retakes", JSON, nullable=True))
        batch_op.add_column(sa.Column("idempotency_key", sa.String(length=200), nullable=True))
        batch_op.add_column(sa.Column("request_hash", sa.String(length=64), nullable=True))
        batch_op.create_index(batch_op.f("ix_renders_requested_by_id"), ["requested_by_id"], unique=False)
        batch_op.create_unique_constraint(batch_op.f("uq_renders_idempotency_key"), ["idempotency_key"])
        batch_op.create_foreign_key(
            batch_op.f("fk_renders_requested_by_id_users"),
            "users",
            ["requested_by_id"],
            ["id"],
            ondelete="SET NULL",
        )


def downgrade() -> None:
    with op.batch_alter_table("renders", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("fk_renders_requested_by_id_users"), type_="foreignkey")
        batch_op.drop_constraint(batch_op.f("uq_renders_idempotency_key"), type_="unique")
        batch_op.drop_index(batch_op.f("ix_renders_requested_by_id"))
        batch_op.drop_column("request_hash")
        batch_op.drop_column("idempotency_key")
        batch_op.drop_column("retakes")
        batch_op.drop_column("requested_by_id")
    for table in (
        "feedback_tags",
        "feedback_regions",
        "feedback",
        "decisions",
        "training_runs",
        "viewer_metrics",
        "model_versions",
        "datasets",
        "api_tokens",
        "users",
        "tags",
    ):
        op.drop_table(table)
