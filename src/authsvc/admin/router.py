"""The admin API (contract: Admin): Bearer tokens of users whose current roles include admin."""

from __future__ import annotations

from fastapi import APIRouter
from starlette.responses import Response

from authsvc.admin.schemas import (
    ClientCreate,
    ClientList,
    ClientOut,
    ClientPatch,
    ClientSecretOut,
    UserPage,
    UserPatch,
    client_body,
)
from authsvc.deps import Admin, AdminOps, Cursor, PageLimit, State, require_recent_mfa
from authsvc.identity.schemas import UserOut, user_body
from authsvc.paging import DEFAULT_LIMIT, page_body
from authsvc.responses import NO_STORE, json_response

router = APIRouter(prefix="/admin", tags=["admin"])




@router.get("/users", response_model=UserPage)
async def list_users(service: AdminOps, cursor: Cursor = None,
                     limit: PageLimit = DEFAULT_LIMIT) -> Response:
    users, next_cursor = await service.page_users(cursor, limit)
    return json_response(page_body([user_body(u) for u in users], next_cursor),
                         headers=NO_STORE)


@router.patch("/users/{user_id}", response_model=UserOut)
async def update_user(user_id: str, patch: UserPatch, service: AdminOps, admin: Admin,
                      state: State) -> Response:
    """Changing roles needs the admin's recent step-up; disabling ends the user's sessions."""
    user = await service.user(user_id)
    if patch.roles is not None:
        await require_recent_mfa(admin, state)
    await service.update_user(user, patch)
    return json_response(user_body(user), headers=NO_STORE)


@router.post("/users/{user_id}/unlock", status_code=204)
async def unlock_user(user_id: str, service: AdminOps) -> Response:
    await service.unlock(await service.user(user_id))
    return Response(status_code=204)


@router.post("/clients", status_code=201, response_model=ClientSecretOut)
async def create_client(body: ClientCreate, service: AdminOps) -> Response:
    issued = await service.create_client(body.spec())
    created = await service.client(issued.client_id)
    return json_response({**client_body(created), "client_secret": issued.client_secret},
                         status=201, headers=NO_STORE)


@router.get("/clients", response_model=ClientList)
async def list_clients(service: AdminOps) -> Response:
    return json_response({"items": [client_body(c) for c in await service.clients()]},
                         headers=NO_STORE)


@router.get("/clients/{client_id}", response_model=ClientOut)
async def get_client(client_id: str, service: AdminOps) -> Response:
    return json_response(client_body(await service.client(client_id)), headers=NO_STORE)


@router.patch("/clients/{client_id}", response_model=ClientOut)
async def update_client(client_id: str, patch: ClientPatch, service: AdminOps) -> Response:
    """Change a client's settings (checked as at creation); caches drop on every worker."""
    client = await service.update_client(client_id, patch.changes())
    return json_response(client_body(client), headers=NO_STORE)


@router.post("/clients/{client_id}/rotate-secret", response_model=ClientSecretOut)
async def rotate_secret(client_id: str, service: AdminOps) -> Response:
    issued = await service.rotate_secret(client_id)
    return json_response({"client_id": issued.client_id, "client_secret": issued.client_secret},
                         headers=NO_STORE)


@router.delete("/clients/{client_id}", status_code=204)
async def delete_client(client_id: str, service: AdminOps) -> Response:
    await service.delete_client(client_id)
    return Response(status_code=204)
