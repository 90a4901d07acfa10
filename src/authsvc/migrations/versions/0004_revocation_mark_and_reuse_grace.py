"""Revocation high-water mark, retry-safe rotation, and a commit deadline for rotations

- `revocation_seq`: bumped in every revoking transaction; Redis's "list complete" marker holds
  the mark it is complete up to, so a Redis restored from an older snapshot (or a lagging
  replica) is recognised as behind and reloaded before it answers.
- `refresh_tokens.spent_binding`, `refresh_tokens.successor`: who spent a refresh token and the
  answer they got (AES-GCM encrypted), so the same client presenting the just-spent token again
  within AUTHSVC_REFRESH_REUSE_GRACE gets that same answer (RFC 9700 §4.14 stays for the rest).
- A deferred constraint trigger refuses to COMMIT a rotation after its deadline
  (`authsvc.commit_deadline`, set by the rotation itself): a rotation answered 503 after a
  database freeze is never committed later, when the database resumes.

Revision ID: 0004
Revises: 0007
Create Date: 2026-12-01 22:20:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0007"  # re-chained after main took 0007 (issue 13 was given "0002")
branch_labels = None
depends_on = None

DEADLINE_FUNCTION = """
CREATE OR REPLACE FUNCTION authsvc_commit_deadline() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    deadline text := current_setting('authsvc.commit_deadline', true);
BEGIN
    IF deadline IS NOT NULL AND deadline <> ''
       AND clock_timestamp() > deadline::timestamptz THEN
        RAISE EXCEPTION 'the rotation missed its commit deadline' USING ERRCODE = '57014';
    END IF;
    RETURN NULL;
END
$$
"""


def upgrade() -> None:
    with op.batch_alter_table("refresh_tokens") as batch:
        batch.add_column(sa.Column("spent_binding", sa.String(64), nullable=True))
        batch.add_column(sa.Column("successor", sa.Text(), nullable=True))
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute("CREATE SEQUENCE revocation_seq")
    op.execute(DEADLINE_FUNCTION)
    op.execute(
        "CREATE CONSTRAINT TRIGGER refresh_tokens_commit_deadline "
        "AFTER INSERT OR UPDATE ON refresh_tokens DEFERRABLE INITIALLY DEFERRED "
        "FOR EACH ROW EXECUTE FUNCTION authsvc_commit_deadline()"
    )


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS refresh_tokens_commit_deadline ON refresh_tokens")
        op.execute("DROP FUNCTION IF EXISTS authsvc_commit_deadline()")
        op.execute("DROP SEQUENCE IF EXISTS revocation_seq")
    with op.batch_alter_table("refresh_tokens") as batch:
        batch.drop_column("successor")
        batch.drop_column("spent_binding")
