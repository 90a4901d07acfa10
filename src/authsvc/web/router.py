"""Every hosted page, in one router (`create_app` includes it before the API's routers)."""

from fastapi import APIRouter

from authsvc.web import (
    account,
    account_mfa,
    assets,
    forward_auth,
    login_mfa,
    pages,
    passkeys,
    recovery,
)

router = APIRouter(include_in_schema=False)
router.include_router(pages.router)
router.include_router(login_mfa.router)
router.include_router(recovery.router)
router.include_router(account.router)
router.include_router(account_mfa.router)
router.include_router(passkeys.router)
router.include_router(forward_auth.router)
router.include_router(assets.router)
