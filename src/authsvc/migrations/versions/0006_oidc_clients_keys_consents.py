"""OpenID Connect: client redirect URIs, type, grant types, scopes, first-party flag and
not-before; asymmetric signing keys; consents

Existing clients become confidential service clients with the grants they had (everything but
authorization_code) and the default scope allow-list, so they keep working as before.

Revision ID: 0006
Revises: 0005 (re-chained after the revisions that landed on main first: 0007, 0004, 0005)
Create Date: 2026-12-01 22:30:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

LEGACY_GRANTS = ('["password", "refresh_token", "client_credentials", '
                 '"urn:authsvc:params:oauth:grant-type:mfa"]')
DEFAULT_SCOPES = '["openid", "profile", "email", "offline_access"]'


def upgrade() -> None:
    with op.batch_alter_table("clients") as batch:
        batch.alter_column("secret_hash", existing_type=sa.String(length=128), nullable=True)
        batch.add_column(sa.Column("type", sa.String(length=16), nullable=False,
                                   server_default="confidential"))
        batch.add_column(sa.Column("redirect_uris", sa.JSON(), nullable=False,
                                   server_default="[]"))
        batch.add_column(sa.Column("post_logout_redirect_uris", sa.JSON(), nullable=False,
                                   server_default="[]"))
        batch.add_column(sa.Column("grant_types", sa.JSON(), nullable=False,
                                   server_default=LEGACY_GRANTS))
        batch.add_column(sa.Column("scopes", sa.JSON(), nullable=False,
                                   server_default=DEFAULT_SCOPES))
        batch.add_column(sa.Column("first_party", sa.Boolean(), nullable=False,
                                   server_default=sa.false()))
        batch.add_column(sa.Column("id_token_alg", sa.String(length=16), nullable=False,
                                   server_default="RS256"))
        batch.add_column(sa.Column("not_before", sa.BigInteger(), nullable=True))
    op.create_table(
        "signing_keys",
        sa.Column("kid", sa.String(length=64), nullable=False),
        sa.Column("alg", sa.String(length=16), nullable=False),
        sa.Column("public_jwk", sa.JSON(), nullable=False),
        sa.Column("private_key", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("activates_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("retired_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("kid", name=op.f("pk_signing_keys")),
    )
    op.create_index("ix_signing_keys_alg", "signing_keys", ["alg"], unique=False)
    op.create_table(
        "consents",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("client_id", sa.String(length=64), nullable=False),
        sa.Column("scopes", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"],
                                name=op.f("fk_consents_user_id_users"), ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_consents")),
        sa.UniqueConstraint("user_id", "client_id", name="uq_consents_user_client"),
    )


def downgrade() -> None:
    op.drop_table("consents")
    op.drop_index("ix_signing_keys_alg", table_name="signing_keys")
    op.drop_table("signing_keys")
    with op.batch_alter_table("clients") as batch:
        for column in ("not_before", "id_token_alg", "first_party", "scopes", "grant_types",
                       "post_logout_redirect_uris", "redirect_uris", "type"):
            batch.drop_column(column)
        batch.alter_column("secret_hash", existing_type=sa.String(length=128), nullable=False)
