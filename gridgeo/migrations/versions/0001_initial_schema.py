"""initial schema

Revision ID: 0001
Revises:
"""

import sqlalchemy as sa
from alembic import op

import gridgeo.schema

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    postgis = op.get_bind().dialect.name == "postgresql"
    if postgis:
        op.execute("CREATE EXTENSION IF NOT EXISTS postgis")
    op.create_table(
        "buildings",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=100), nullable=False),
        sa.Column("address", sa.String(length=300), nullable=True),
        sa.Column("units", sa.Integer(), nullable=True),
        sa.Column("households", sa.Integer(), nullable=True),
        sa.Column("floors", sa.Integer(), nullable=True),
        sa.Column("geom", gridgeo.schema.Geom("MULTIPOLYGON"), nullable=False),
        sa.CheckConstraint(
            "floors IS NULL OR floors >= 0", name=op.f("ck_buildings_floors_not_negative")
        ),
        sa.CheckConstraint(
            "households IS NULL OR households >= 0",
            name=op.f("ck_buildings_households_not_negative"),
        ),
        sa.CheckConstraint("length(code) > 0", name=op.f("ck_buildings_code_not_empty")),
        sa.CheckConstraint(
            "units IS NULL OR units >= 0", name=op.f("ck_buildings_units_not_negative")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_buildings")),
        sa.UniqueConstraint("code", name=op.f("uq_buildings_code")),
    )
    if postgis:
        op.create_index(
            "ix_buildings_geom", "buildings", ["geom"], unique=False, postgresql_using="gist"
        )
    op.create_table(
        "communities",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=100), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=True),
        sa.Column("district", sa.String(length=200), nullable=True),
        sa.Column("geom", gridgeo.schema.Geom("MULTIPOLYGON"), nullable=True),
        sa.CheckConstraint("length(code) > 0", name=op.f("ck_communities_code_not_empty")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_communities")),
        sa.UniqueConstraint("code", name=op.f("uq_communities_code")),
    )
    if postgis:
        op.create_index(
            "ix_communities_geom", "communities", ["geom"], unique=False, postgresql_using="gist"
        )
    op.create_table(
        "grids",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=100), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=True),
        sa.Column("community_id", sa.Integer(), nullable=True),
        sa.Column("geom", gridgeo.schema.Geom("MULTIPOLYGON"), nullable=False),
        sa.CheckConstraint("length(code) > 0", name=op.f("ck_grids_code_not_empty")),
        sa.ForeignKeyConstraint(
            ["community_id"], ["communities.id"], name=op.f("fk_grids_community_id_communities")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_grids")),
        sa.UniqueConstraint("code", name=op.f("uq_grids_code")),
    )
    op.create_index(op.f("ix_grids_community_id"), "grids", ["community_id"], unique=False)
    if postgis:
        op.create_index("ix_grids_geom", "grids", ["geom"], unique=False, postgresql_using="gist")
    op.create_table(
        "households",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=100), nullable=False),
        sa.Column("building_id", sa.Integer(), nullable=False),
        sa.Column("unit", sa.String(length=50), nullable=True),
        sa.Column("floor", sa.Integer(), nullable=True),
        sa.Column("room", sa.String(length=50), nullable=True),
        sa.Column("size", sa.Integer(), nullable=True),
        sa.Column("name", sa.String(length=200), nullable=True),
        sa.Column("phone", sa.String(length=50), nullable=True),
        sa.Column("geom", gridgeo.schema.Geom("POINT"), nullable=True),
        sa.CheckConstraint("length(code) > 0", name=op.f("ck_households_code_not_empty")),
        sa.CheckConstraint(
            "size IS NULL OR size >= 0", name=op.f("ck_households_size_not_negative")
        ),
        sa.ForeignKeyConstraint(
            ["building_id"], ["buildings.id"], name=op.f("fk_households_building_id_buildings")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_households")),
        sa.UniqueConstraint("code", name=op.f("uq_households_code")),
    )
    op.create_index(op.f("ix_households_building_id"), "households", ["building_id"], unique=False)
    if postgis:
        op.create_index(
            "ix_households_geom", "households", ["geom"], unique=False, postgresql_using="gist"
        )
    op.create_table(
        "organisations",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=100), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=True),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("community_id", sa.Integer(), nullable=True),
        sa.CheckConstraint(
            "kind IN ('partner_unit', 'community')", name=op.f("ck_organisations_kind_known")
        ),
        sa.CheckConstraint("length(code) > 0", name=op.f("ck_organisations_code_not_empty")),
        sa.ForeignKeyConstraint(
            ["community_id"],
            ["communities.id"],
            name=op.f("fk_organisations_community_id_communities"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_organisations")),
        sa.UniqueConstraint("code", name=op.f("uq_organisations_code")),
    )
    op.create_index(
        op.f("ix_organisations_community_id"), "organisations", ["community_id"], unique=False
    )
    op.create_table(
        "meetings",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=100), nullable=False),
        sa.Column("grid_id", sa.Integer(), nullable=False),
        sa.Column("held_on", sa.Date(), nullable=False),
        sa.Column("attendance", sa.Integer(), nullable=True),
        sa.Column("topic", sa.Text(), nullable=True),
        sa.CheckConstraint(
            "attendance IS NULL OR attendance >= 0",
            name=op.f("ck_meetings_attendance_not_negative"),
        ),
        sa.CheckConstraint("length(code) > 0", name=op.f("ck_meetings_code_not_empty")),
        sa.ForeignKeyConstraint(["grid_id"], ["grids.id"], name=op.f("fk_meetings_grid_id_grids")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_meetings")),
        sa.UniqueConstraint("code", name=op.f("uq_meetings_code")),
    )
    op.create_index(op.f("ix_meetings_grid_id"), "meetings", ["grid_id"], unique=False)
    op.create_table(
        "members",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=100), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=True),
        sa.Column("phone", sa.String(length=50), nullable=True),
        sa.Column("role", sa.String(length=20), nullable=False),
        sa.Column("organisation_id", sa.Integer(), nullable=True),
        sa.Column("community_id", sa.Integer(), nullable=True),
        sa.CheckConstraint(
            "role IN ('leader', 'member', 'cadre', 'grid_worker')",
            name=op.f("ck_members_role_known"),
        ),
        sa.CheckConstraint("length(code) > 0", name=op.f("ck_members_code_not_empty")),
        sa.ForeignKeyConstraint(
            ["community_id"], ["communities.id"], name=op.f("fk_members_community_id_communities")
        ),
        sa.ForeignKeyConstraint(
            ["organisation_id"],
            ["organisations.id"],
            name=op.f("fk_members_organisation_id_organisations"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_members")),
        sa.UniqueConstraint("code", name=op.f("uq_members_code")),
    )
    op.create_index(op.f("ix_members_community_id"), "members", ["community_id"], unique=False)
    op.create_index(
        op.f("ix_members_organisation_id"), "members", ["organisation_id"], unique=False
    )
    op.create_table(
        "assignments",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=100), nullable=False),
        sa.Column("kind", sa.String(length=30), nullable=False),
        sa.Column("member_id", sa.Integer(), nullable=True),
        sa.Column("organisation_id", sa.Integer(), nullable=True),
        sa.Column("community_id", sa.Integer(), nullable=True),
        sa.Column("grid_id", sa.Integer(), nullable=True),
        sa.Column("building_id", sa.Integer(), nullable=True),
        sa.Column("household_id", sa.Integer(), nullable=True),
        sa.Column("valid_from", sa.Date(), nullable=False),
        sa.Column("valid_to", sa.Date(), nullable=True),
        sa.CheckConstraint(
            "(kind = 'leader_community' AND member_id IS NOT NULL AND organisation_id IS NULL AND community_id IS NOT NULL AND grid_id IS NULL AND building_id IS NULL AND household_id IS NULL) OR (kind = 'cadre_community' AND member_id IS NOT NULL AND organisation_id IS NULL AND community_id IS NOT NULL AND grid_id IS NULL AND building_id IS NULL AND household_id IS NULL) OR (kind = 'organisation_grid' AND member_id IS NULL AND organisation_id IS NOT NULL AND community_id IS NULL AND grid_id IS NOT NULL AND building_id IS NULL AND household_id IS NULL) OR (kind = 'worker_grid' AND member_id IS NOT NULL AND organisation_id IS NULL AND community_id IS NULL AND grid_id IS NOT NULL AND building_id IS NULL AND household_id IS NULL) OR (kind = 'member_building' AND member_id IS NOT NULL AND organisation_id IS NULL AND community_id IS NULL AND grid_id IS NULL AND building_id IS NOT NULL AND household_id IS NULL) OR (kind = 'member_household' AND member_id IS NOT NULL AND organisation_id IS NULL AND community_id IS NULL AND grid_id IS NULL AND building_id IS NULL AND household_id IS NOT NULL)",
            name=op.f("ck_assignments_kind_matches_columns"),
        ),
        sa.CheckConstraint(
            "kind IN ('leader_community', 'cadre_community', 'organisation_grid', 'worker_grid', 'member_building', 'member_household')",
            name=op.f("ck_assignments_kind_known"),
        ),
        sa.CheckConstraint("length(code) > 0", name=op.f("ck_assignments_code_not_empty")),
        sa.CheckConstraint(
            "valid_to IS NULL OR valid_to >= valid_from", name=op.f("ck_assignments_valid_range")
        ),
        sa.ForeignKeyConstraint(
            ["building_id"], ["buildings.id"], name=op.f("fk_assignments_building_id_buildings")
        ),
        sa.ForeignKeyConstraint(
            ["community_id"],
            ["communities.id"],
            name=op.f("fk_assignments_community_id_communities"),
        ),
        sa.ForeignKeyConstraint(
            ["grid_id"], ["grids.id"], name=op.f("fk_assignments_grid_id_grids")
        ),
        sa.ForeignKeyConstraint(
            ["household_id"], ["households.id"], name=op.f("fk_assignments_household_id_households")
        ),
        sa.ForeignKeyConstraint(
            ["member_id"], ["members.id"], name=op.f("fk_assignments_member_id_members")
        ),
        sa.ForeignKeyConstraint(
            ["organisation_id"],
            ["organisations.id"],
            name=op.f("fk_assignments_organisation_id_organisations"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_assignments")),
        sa.UniqueConstraint("code", name=op.f("uq_assignments_code")),
    )
    op.create_index(
        op.f("ix_assignments_building_id"), "assignments", ["building_id"], unique=False
    )
    op.create_index(
        op.f("ix_assignments_community_id"), "assignments", ["community_id"], unique=False
    )
    op.create_index(op.f("ix_assignments_grid_id"), "assignments", ["grid_id"], unique=False)
    op.create_index(
        op.f("ix_assignments_household_id"), "assignments", ["household_id"], unique=False
    )
    op.create_index(op.f("ix_assignments_member_id"), "assignments", ["member_id"], unique=False)
    op.create_index(
        op.f("ix_assignments_organisation_id"), "assignments", ["organisation_id"], unique=False
    )
    op.create_table(
        "visits",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=100), nullable=False),
        sa.Column("member_id", sa.Integer(), nullable=False),
        sa.Column("household_id", sa.Integer(), nullable=True),
        sa.Column("building_id", sa.Integer(), nullable=True),
        sa.Column("visited_at", gridgeo.schema.UTCDateTime(timezone=True), nullable=False),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("geom", gridgeo.schema.Geom("POINT"), nullable=True),
        sa.CheckConstraint(
            "household_id IS NOT NULL OR building_id IS NOT NULL", name=op.f("ck_visits_has_target")
        ),
        sa.CheckConstraint("length(code) > 0", name=op.f("ck_visits_code_not_empty")),
        sa.ForeignKeyConstraint(
            ["building_id"], ["buildings.id"], name=op.f("fk_visits_building_id_buildings")
        ),
        sa.ForeignKeyConstraint(
            ["household_id"], ["households.id"], name=op.f("fk_visits_household_id_households")
        ),
        sa.ForeignKeyConstraint(
            ["member_id"], ["members.id"], name=op.f("fk_visits_member_id_members")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_visits")),
        sa.UniqueConstraint("code", name=op.f("uq_visits_code")),
    )
    op.create_index(op.f("ix_visits_building_id"), "visits", ["building_id"], unique=False)
    if postgis:
        op.create_index("ix_visits_geom", "visits", ["geom"], unique=False, postgresql_using="gist")
    op.create_index(op.f("ix_visits_household_id"), "visits", ["household_id"], unique=False)
    op.create_index(op.f("ix_visits_member_id"), "visits", ["member_id"], unique=False)
    op.create_index(op.f("ix_visits_visited_at"), "visits", ["visited_at"], unique=False)
    op.create_table(
        "problems",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=100), nullable=False),
        sa.Column("category", sa.String(length=100), nullable=False),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("building_id", sa.Integer(), nullable=True),
        sa.Column("household_id", sa.Integer(), nullable=True),
        sa.Column("visit_id", sa.Integer(), nullable=True),
        sa.Column("responsible_member_id", sa.Integer(), nullable=True),
        sa.Column("reported_at", gridgeo.schema.UTCDateTime(timezone=True), nullable=False),
        sa.Column("deadline", sa.Date(), nullable=True),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("resolved_at", gridgeo.schema.UTCDateTime(timezone=True), nullable=True),
        sa.Column("escalated_at", gridgeo.schema.UTCDateTime(timezone=True), nullable=True),
        sa.Column("closed_at", gridgeo.schema.UTCDateTime(timezone=True), nullable=True),
        sa.Column("feedback_at", gridgeo.schema.UTCDateTime(timezone=True), nullable=True),
        sa.Column("feedback", sa.Text(), nullable=True),
        sa.Column("geom", gridgeo.schema.Geom("POINT"), nullable=True),
        sa.CheckConstraint(
            "status <> 'closed' OR (closed_at IS NOT NULL AND (resolved_at IS NOT NULL OR escalated_at IS NOT NULL))",
            name=op.f("ck_problems_closed_has_times"),
        ),
        sa.CheckConstraint(
            "status <> 'escalated' OR escalated_at IS NOT NULL",
            name=op.f("ck_problems_escalated_has_time"),
        ),
        sa.CheckConstraint(
            "status <> 'resolved_on_site' OR resolved_at IS NOT NULL",
            name=op.f("ck_problems_resolved_has_time"),
        ),
        sa.CheckConstraint(
            "status IN ('open', 'resolved_on_site', 'escalated', 'closed')",
            name=op.f("ck_problems_status_known"),
        ),
        sa.CheckConstraint(
            "closed_at IS NULL OR closed_at >= reported_at",
            name=op.f("ck_problems_closed_after_report"),
        ),
        sa.CheckConstraint(
            "feedback_at IS NULL OR feedback_at >= reported_at",
            name=op.f("ck_problems_feedback_after_report"),
        ),
        sa.CheckConstraint("length(code) > 0", name=op.f("ck_problems_code_not_empty")),
        sa.ForeignKeyConstraint(
            ["building_id"], ["buildings.id"], name=op.f("fk_problems_building_id_buildings")
        ),
        sa.ForeignKeyConstraint(
            ["household_id"], ["households.id"], name=op.f("fk_problems_household_id_households")
        ),
        sa.ForeignKeyConstraint(
            ["responsible_member_id"],
            ["members.id"],
            name=op.f("fk_problems_responsible_member_id_members"),
        ),
        sa.ForeignKeyConstraint(
            ["visit_id"], ["visits.id"], name=op.f("fk_problems_visit_id_visits")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_problems")),
        sa.UniqueConstraint("code", name=op.f("uq_problems_code")),
    )
    op.create_index(op.f("ix_problems_building_id"), "problems", ["building_id"], unique=False)
    if postgis:
        op.create_index(
            "ix_problems_geom", "problems", ["geom"], unique=False, postgresql_using="gist"
        )
    op.create_index(op.f("ix_problems_household_id"), "problems", ["household_id"], unique=False)
    op.create_index(op.f("ix_problems_reported_at"), "problems", ["reported_at"], unique=False)
    op.create_index(
        op.f("ix_problems_responsible_member_id"),
        "problems",
        ["responsible_member_id"],
        unique=False,
    )
    op.create_index(op.f("ix_problems_visit_id"), "problems", ["visit_id"], unique=False)


def downgrade() -> None:
    postgis = op.get_bind().dialect.name == "postgresql"
    op.drop_index(op.f("ix_problems_visit_id"), table_name="problems")
    op.drop_index(op.f("ix_problems_responsible_member_id"), table_name="problems")
    op.drop_index(op.f("ix_problems_reported_at"), table_name="problems")
    op.drop_index(op.f("ix_problems_household_id"), table_name="problems")
    if postgis:
        op.drop_index("ix_problems_geom", table_name="problems", postgresql_using="gist")
    op.drop_index(op.f("ix_problems_building_id"), table_name="problems")
    op.drop_table("problems")
    op.drop_index(op.f("ix_visits_visited_at"), table_name="visits")
    op.drop_index(op.f("ix_visits_member_id"), table_name="visits")
    op.drop_index(op.f("ix_visits_household_id"), table_name="visits")
    if postgis:
        op.drop_index("ix_visits_geom", table_name="visits", postgresql_using="gist")
    op.drop_index(op.f("ix_visits_building_id"), table_name="visits")
    op.drop_table("visits")
    op.drop_index(op.f("ix_assignments_organisation_id"), table_name="assignments")
    op.drop_index(op.f("ix_assignments_member_id"), table_name="assignments")
    op.drop_index(op.f("ix_assignments_household_id"), table_name="assignments")
    op.drop_index(op.f("ix_assignments_grid_id"), table_name="assignments")
    op.drop_index(op.f("ix_assignments_community_id"), table_name="assignments")
    op.drop_index(op.f("ix_assignments_building_id"), table_name="assignments")
    op.drop_table("assignments")
    op.drop_index(op.f("ix_members_organisation_id"), table_name="members")
    op.drop_index(op.f("ix_members_community_id"), table_name="members")
    op.drop_table("members")
    op.drop_index(op.f("ix_meetings_grid_id"), table_name="meetings")
    op.drop_table("meetings")
    op.drop_index(op.f("ix_organisations_community_id"), table_name="organisations")
    op.drop_table("organisations")
    if postgis:
        op.drop_index("ix_households_geom", table_name="households", postgresql_using="gist")
    op.drop_index(op.f("ix_households_building_id"), table_name="households")
    op.drop_table("households")
    if postgis:
        op.drop_index("ix_grids_geom", table_name="grids", postgresql_using="gist")
    op.drop_index(op.f("ix_grids_community_id"), table_name="grids")
    op.drop_table("grids")
    if postgis:
        op.drop_index("ix_communities_geom", table_name="communities", postgresql_using="gist")
    op.drop_table("communities")
    if postgis:
        op.drop_index("ix_buildings_geom", table_name="buildings", postgresql_using="gist")
    op.drop_table("buildings")
