from tests.admin.conftest import admin, no_cooldown  # noqa: F401  (shared fixtures)
