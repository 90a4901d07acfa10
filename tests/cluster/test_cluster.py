"""What only a Cluster can break: data lost on one node, scripts missing on a node, keys of one
request spread over nodes."""

from __future__ import annotations

import pytest
from redis.asyncio.cluster import RedisCluster
from redis.crc import key_slot

from authsvc.kv import Keys
from tests import flows
from tests.cluster.servers import RedisClusterServers
from tests.infra import Api

pytestmark = pytest.mark.slow


async def test_the_app_really_runs_on_the_cluster(api: Api, service_client, state,
                                                  redis_cluster: RedisClusterServers) -> None:
    assert isinstance(state.redis, RedisCluster)
    user = await flows.register(api)
    tokens = await flows.login(api, user)
    assert (await flows.introspect(api, service_client, tokens["access_token"]))["active"]
    # One introspection read keys on more than one node (revocation list, user cache) in its
    # one non-transactional pipeline.
    rev_port = redis_cluster.port_of_slot(key_slot(Keys.revocations_loaded.encode()))
    user_port = redis_cluster.port_of_slot(key_slot(Keys.user(user["id"]).encode()))
    holding = {port for port in redis_cluster.ports if redis_cluster.node(port).dbsize()}
    assert {rev_port, user_port} <= holding
    if rev_port == user_port:  # the user's slot happened to be on the same node: try others
        ports = {redis_cluster.port_of_slot(key_slot(Keys.user(f"u{i}").encode()))
                 for i in range(20)}
        assert len(ports) > 1


@pytest.mark.parametrize("which", ["each node alone", "all nodes"])
async def test_a_node_losing_its_data_resurrects_no_revoked_token(
    app, service_client, redis_cluster: RedisClusterServers, which: str
) -> None:
    """FLUSHALL on one node at a time (a restart or a failover to an empty replica), then on all.

    The revocation entries share the `{rev}` tag with the "list complete" sentinel, so whichever
    node loses them loses the sentinel too, and introspection reloads the list from PostgreSQL.
    """
    groups = [[port] for port in redis_cluster.ports] if which == "each node alone" else [
        redis_cluster.ports]
    for ports in groups:
        # A fresh client address per round: 13 logins a round would otherwise meet /token's
        # per-address rate limit, whose counter survives or not depending on the node flushed.
        api = Api(app)
        user = await flows.register(api)
        alive = await flows.login(api, user)
        logins = [await flows.login(api, user) for _ in range(12)]
        # Enough entries that, were they not kept together, some would sit on every node.
        for n, tokens in enumerate(logins):
            kind = "access_token" if n % 3 else "refresh_token"  # a jti, or a whole family
            answer = await api.post("/revoke", data={"token": tokens[kind]},
                                    headers=flows.basic(*service_client))
            assert answer.status_code == 200
        # The list is complete in Redis now (its sentinel set), before the node loses its data.
        assert (await flows.introspect(api, service_client, alive["access_token"]))["active"]
        for port in ports:
            redis_cluster.node(port).flushall()
        for n, tokens in enumerate(logins):
            info = await flows.introspect(api, service_client, tokens["access_token"])
            assert info == {"active": False}, (ports, n)
        assert (await flows.introspect(api, service_client, alive["access_token"]))["active"]
        assert (await flows.refresh(api, logins[0]["refresh_token"])).status_code == 400


async def test_scripts_are_reloaded_on_nodes_that_lost_them(
    api: Api, clock, redis_cluster: RedisClusterServers
) -> None:
    """EVALSHA through RedisCluster: NOSCRIPT after SCRIPT FLUSH loads the script again."""
    user = await flows.register(api)
    for port in redis_cluster.ports:
        redis_cluster.node(port).script_flush()
    for _ in range(5):
        assert (await flows.password_grant(api, user["email"], "Wrong-password-1!")).status_code \
            == 400
        clock.advance(120)
    assert (await flows.password_grant(api, user["email"], user["password"])).status_code == 429
