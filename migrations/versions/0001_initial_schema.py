"""Initial schema: institutions, subsystems, accounts, applications, audit, calendar.

Also seeds the agency's six subsystems (reference data every deployment needs) and makes
the audit table append-only with triggers on both engines.

Revision ID: 0001
Revises:
Create Date: 2026-11-23
"""
import sqlalchemy as sa
from alembic import op

import portal.db_types


# revision identifiers, used by Alembic.
revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('calendar_overrides',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('kind', sa.Enum('closed', 'working', name='overridekind', native_enum=False, create_constraint=True, length=30), nullable=False),
    sa.Column('reason', sa.String(length=200), nullable=False),
    sa.Column('created_at', portal.db_types.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_calendar_overrides')),
    sa.UniqueConstraint('day', name=op.f('uq_calendar_overrides_day'))
    )
    op.create_table('institutions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('code', sa.String(length=10), nullable=False),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('kind', sa.String(length=20), nullable=False),
    sa.Column('county', sa.String(length=10), nullable=False),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('created_at', portal.db_types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', portal.db_types.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_institutions')),
    sa.UniqueConstraint('code', name=op.f('uq_institutions_code'))
    )
    with op.batch_alter_table('institutions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_institutions_name'), ['name'], unique=False)

    op.create_table('subsystems',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('code', sa.String(length=40), nullable=False),
    sa.Column('name', sa.String(length=50), nullable=False),
    sa.Column('description', sa.String(length=500), nullable=False),
    sa.Column('sort_order', sa.Integer(), nullable=False),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_subsystems')),
    sa.UniqueConstraint('code', name=op.f('uq_subsystems_code'))
    )
    op.create_table('accounts',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('username', sa.String(length=30), nullable=False),
    sa.Column('username_key', sa.String(length=30), nullable=False),
    sa.Column('password_hash', sa.String(length=200), nullable=False),
    sa.Column('national_id_encrypted', sa.Text(), nullable=False),
    sa.Column('national_id_digest', sa.String(length=64), nullable=False),
    sa.Column('name', sa.String(length=50), nullable=False),
    sa.Column('phone', sa.String(length=30), nullable=False),
    sa.Column('mobile', sa.String(length=20), nullable=True),
    sa.Column('email', sa.String(length=254), nullable=False),
    sa.Column('institution_id', sa.Integer(), nullable=False),
    sa.Column('role', sa.Enum('manager', 'general', name='role', native_enum=False, create_constraint=True, length=30), nullable=False),
    sa.Column('state', sa.Enum('pending', 'active', 'refused', 'deactivated', name='accountstate', native_enum=False, create_constraint=True, length=30), nullable=False),
    sa.Column('created_at', portal.db_types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('activated_at', portal.db_types.UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['institution_id'], ['institutions.id'], name=op.f('fk_accounts_institution_id_institutions')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_accounts')),
    sa.UniqueConstraint('username_key', name=op.f('uq_accounts_username_key'))
    )
    with op.batch_alter_table('accounts', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_accounts_institution_id'), ['institution_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_accounts_national_id_digest'), ['national_id_digest'], unique=False)

    op.create_table('applications',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('application_no', sa.String(length=20), nullable=False),
    sa.Column('submission_token', sa.String(length=64), nullable=False),
    sa.Column('account_id', sa.Integer(), nullable=False),
    sa.Column('institution_id', sa.Integer(), nullable=False),
    sa.Column('state', sa.Enum('awaiting_verification', 'awaiting_paper_review', 'awaiting_manager', 'approved', 'refused', name='applicationstate', native_enum=False, create_constraint=True, length=30), nullable=False),
    sa.Column('submitted_at', portal.db_types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('step_started_at', portal.db_types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('decided_at', portal.db_types.UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['account_id'], ['accounts.id'], name=op.f('fk_applications_account_id_accounts')),
    sa.ForeignKeyConstraint(['institution_id'], ['institutions.id'], name=op.f('fk_applications_institution_id_institutions')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_applications')),
    sa.UniqueConstraint('account_id', name=op.f('uq_applications_account_id')),
    sa.UniqueConstraint('application_no', name=op.f('uq_applications_application_no')),
    sa.UniqueConstraint('submission_token', name=op.f('uq_applications_submission_token'))
    )
    with op.batch_alter_table('applications', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_applications_institution_id'), ['institution_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_applications_state'), ['state'], unique=False)

    op.create_table('audit_events',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('occurred_at', portal.db_types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('action', sa.String(length=50), nullable=False),
    sa.Column('actor_account_id', sa.Integer(), nullable=True),
    sa.Column('subject_type', sa.String(length=30), nullable=False),
    sa.Column('subject_id', sa.String(length=40), nullable=False),
    sa.Column('institution_id', sa.Integer(), nullable=True),
    sa.Column('remote_addr', sa.String(length=45), nullable=True),
    sa.Column('user_agent', sa.String(length=200), nullable=True),
    sa.Column('detail', sa.JSON(), nullable=False),
    sa.ForeignKeyConstraint(['actor_account_id'], ['accounts.id'], name=op.f('fk_audit_events_actor_account_id_accounts')),
    sa.ForeignKeyConstraint(['institution_id'], ['institutions.id'], name=op.f('fk_audit_events_institution_id_institutions')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_audit_events'))
    )
    with op.batch_alter_table('audit_events', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_audit_events_action'), ['action'], unique=False)
        batch_op.create_index(batch_op.f('ix_audit_events_actor_account_id'), ['actor_account_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_audit_events_institution_id'), ['institution_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_audit_events_occurred_at'), ['occurred_at'], unique=False)

    op.create_table('subsystem_requests',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('account_id', sa.Integer(), nullable=False),
    sa.Column('subsystem_id', sa.Integer(), nullable=False),
    sa.Column('state', sa.Enum('pending', 'approved', 'refused', 'revoked', name='requeststate', native_enum=False, create_constraint=True, length=30), nullable=False),
    sa.Column('requested_at', portal.db_types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('decided_at', portal.db_types.UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['account_id'], ['accounts.id'], name=op.f('fk_subsystem_requests_account_id_accounts')),
    sa.ForeignKeyConstraint(['subsystem_id'], ['subsystems.id'], name=op.f('fk_subsystem_requests_subsystem_id_subsystems')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_subsystem_requests')),
    sa.UniqueConstraint('account_id', 'subsystem_id', name=op.f('uq_subsystem_requests_account_id'))
    )
    with op.batch_alter_table('subsystem_requests', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_subsystem_requests_account_id'), ['account_id'], unique=False)

    _seed_subsystems()
    _make_audit_append_only()


def downgrade():
    _drop_audit_triggers()
    with op.batch_alter_table('subsystem_requests', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_subsystem_requests_account_id'))

    op.drop_table('subsystem_requests')
    with op.batch_alter_table('audit_events', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_audit_events_occurred_at'))
        batch_op.drop_index(batch_op.f('ix_audit_events_institution_id'))
        batch_op.drop_index(batch_op.f('ix_audit_events_actor_account_id'))
        batch_op.drop_index(batch_op.f('ix_audit_events_action'))

    op.drop_table('audit_events')
    with op.batch_alter_table('applications', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_applications_state'))
        batch_op.drop_index(batch_op.f('ix_applications_institution_id'))

    op.drop_table('applications')
    with op.batch_alter_table('accounts', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_accounts_national_id_digest'))
        batch_op.drop_index(batch_op.f('ix_accounts_institution_id'))

    op.drop_table('accounts')
    op.drop_table('subsystems')
    with op.batch_alter_table('institutions', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_institutions_name'))

    op.drop_table('institutions')
    op.drop_table('calendar_overrides')


SUBSYSTEMS = [
    ("cessation", "戒菸服務系統", "門診戒菸、戒菸衛教服務的申報與查詢。"),
    ("oral-cancer", "口腔癌篩檢系統", "口腔黏膜檢查的登錄、轉介與追蹤。"),
    ("child-health", "兒童健康管理系統", "兒童預防保健與衛教指導服務的登錄。"),
    ("newborn-hearing", "新生兒聽力篩檢系統", "新生兒聽力篩檢結果的登錄與追蹤。"),
    ("adult-preventive", "成人預防保健服務系統", "成人預防保健服務的登錄與查詢。"),
    ("cancer-screening", "癌症篩檢系統", "子宮頸、乳房、大腸癌篩檢的登錄與追蹤。"),
]


def _seed_subsystems():
    table = sa.table(
        "subsystems",
        sa.column("code", sa.String),
        sa.column("name", sa.String),
        sa.column("description", sa.String),
        sa.column("sort_order", sa.Integer),
        sa.column("active", sa.Boolean),
    )
    op.bulk_insert(
        table,
        [
            {"code": code, "name": name, "description": description, "sort_order": order,
             "active": True}
            for order, (code, name, description) in enumerate(SUBSYSTEMS, start=1)
        ],
    )


def _make_audit_append_only():
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            """
            CREATE FUNCTION audit_events_append_only() RETURNS trigger AS $$
            BEGIN
                RAISE EXCEPTION 'audit_events is append-only';
            END;
            $$ LANGUAGE plpgsql;
            """
        )
        op.execute(
            "CREATE TRIGGER audit_events_append_only BEFORE UPDATE OR DELETE ON audit_events "
            "FOR EACH ROW EXECUTE FUNCTION audit_events_append_only()"
        )
    else:
        for operation in ("UPDATE", "DELETE"):
            op.execute(
                f"CREATE TRIGGER audit_events_no_{operation.lower()} BEFORE {operation} "
                "ON audit_events BEGIN SELECT RAISE(ABORT, 'audit_events is append-only'); END"
            )


def _drop_audit_triggers():
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS audit_events_append_only ON audit_events")
        op.execute("DROP FUNCTION IF EXISTS audit_events_append_only()")
    else:
        op.execute("DROP TRIGGER IF EXISTS audit_events_no_update")
        op.execute("DROP TRIGGER IF EXISTS audit_events_no_delete")
