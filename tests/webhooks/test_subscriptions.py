"""Who may subscribe to what, what a receiver may learn of, where notifications may go."""

from __future__ import annotations

import asyncio

import pytest
from fastapi.testclient import TestClient

from layers.webhooks.settings import WebhookSettings
from layers.webhooks.targets import TargetRefused, resolve_target
from tests.access.ownership_fixtures import DEPT_A, DEPT_B, as_
from tests.helpers.wait import wait_for
from tests.webhooks.conftest import OF_B, PUBLIC, RESTRICTED, create, subscribe
from tests.webhooks.receiver import Receiver

HOOK = "http://127.0.0.1:9/hook"


def post(client: TestClient, who: str | None, **body: object) -> tuple[int, str]:
    headers = as_(who) if who else {}
    answer = client.post("/admin/subscriptions", json=body, headers=headers)
    return answer.status_code, answer.text


def test_who_may_subscribe(hooks: TestClient) -> None:
    assert post(hooks, None, department=DEPT_B, layer=PUBLIC, url=HOOK)[0] == 403
    assert post(hooks, "bea", department=DEPT_B, layer=PUBLIC, url=HOOK)[0] == 403  # a member
    assert post(hooks, "bob", department=DEPT_B, layer=PUBLIC, url=HOOK)[0] == 403  # not his
    assert post(hooks, "bob", department=DEPT_B, layer=RESTRICTED, url=HOOK)[0] == 404  # hidden
    assert post(hooks, "bob", department=DEPT_B, layersOf=DEPT_A, url=HOOK)[0] == 403
    assert post(hooks, "bob", department=DEPT_B, layer=OF_B, url=HOOK)[0] == 201
    assert post(hooks, "root", department=DEPT_A, layer=OF_B, url=HOOK)[0] == 201  # an admin
    status, text = post(hooks, "alice", department="no-such-dept", layer=PUBLIC, url=HOOK)
    assert status == 400 and "not registered" in text
    status, text = post(hooks, "alice", department=DEPT_B, layer=PUBLIC, layersOf=DEPT_A, url=HOOK)
    assert status == 400 and "either" in text


def test_a_receiver_is_never_subscribed_to_a_layer_it_may_not_read(hooks: TestClient) -> None:
    status, text = post(hooks, "alice", department=DEPT_B, layer=RESTRICTED, url=HOOK)
    assert status == 400 and "may not read" in text
    assert post(hooks, "alice", department=DEPT_A, layer=RESTRICTED, url=HOOK)[0] == 201


def test_a_department_subscription_hears_only_of_layers_it_may_read(hooks: TestClient) -> None:
    receiver = Receiver().start()
    try:
        made = subscribe(hooks, department=DEPT_B, layersOf=DEPT_A, url=receiver.url)
        create(hooks, RESTRICTED, "secret site")  # own-b may not read it
        create(hooks, PUBLIC, "open site")
        wait_for(lambda: any(e["subject"] == PUBLIC for e in receiver.events()), "no public event")
        path = f"/admin/subscriptions/{made['subscription']['id']}/deliveries"
        listed = hooks.get(path, headers=as_("alice")).json()["deliveries"]
        assert {d["subject"] for d in listed} == {PUBLIC}
        assert {e["subject"] for e in receiver.events()} == {PUBLIC}
    finally:
        receiver.stop()


def test_publishers_manage_only_their_departments_subscriptions(hooks: TestClient) -> None:
    mine = subscribe(hooks, department=DEPT_B, layer=PUBLIC, url=HOOK)["subscription"]
    path = f"/admin/subscriptions/{mine['id']}"
    assert "secret" not in hooks.get(path, headers=as_("alice")).json()
    listed = hooks.get("/admin/subscriptions", headers=as_("bob")).json()["subscriptions"]
    assert mine["id"] not in {s["id"] for s in listed}
    assert all(s.get("layer") != PUBLIC for s in listed)
    assert hooks.get(path, headers=as_("bob")).status_code == 404  # as an unknown id
    assert hooks.delete(path, headers=as_("bob")).status_code == 404
    assert hooks.get("/admin/subscriptions", headers=as_("bea")).status_code == 403
    assert hooks.get("/admin/subscriptions/not-a-uuid", headers=as_("root")).status_code == 404
    assert mine["id"] in {
        s["id"]
        for s in hooks.get("/admin/subscriptions", headers=as_("root")).json()["subscriptions"]
    }
    assert hooks.delete(path, headers=as_("alice")).status_code == 200
    assert hooks.get(path, headers=as_("alice")).status_code == 404


@pytest.mark.parametrize(
    "url",
    [
        "http://169.254.169.254/latest/meta-data/",  # every cloud's metadata service
        "http://100.100.100.200/latest/meta-data/",  # Alibaba Cloud's
        "http://[fe80::1]/hook",
        "http://[::ffff:169.254.169.254]/hook",  # the same, IPv4-mapped
        "http://0.0.0.0:8000/hook",
        "http://8.8.8.8/hook",  # a public address: not in the allowed networks
        "ftp://127.0.0.1/hook",
        "http://user:pw@127.0.0.1/hook",
        "http://no-such-host.invalid/hook",
        "http://127.0.0.1:99999/hook",
        "not a url",
    ],
)
def test_webhook_urls_outside_the_intranet_are_refused(hooks: TestClient, url: str) -> None:
    status, text = post(hooks, "alice", department=DEPT_B, layer=PUBLIC, url=url)
    assert status == 400, text
    assert "webhook" in text


def test_the_allowed_networks_are_configurable() -> None:
    allowed = WebhookSettings(allowed_networks="8.8.8.0/24,169.254.0.0/16").allowed_networks
    target = asyncio.run(resolve_target("https://8.8.8.8:8443/x", allowed))
    assert target.pinned_url == "https://8.8.8.8:8443/x" and target.host_header == "8.8.8.8:8443"
    with pytest.raises(TargetRefused, match="metadata"):  # never, whatever the settings say
        asyncio.run(resolve_target("http://169.254.169.254/", allowed))
    named = asyncio.run(
        resolve_target("http://localhost:8080/x", WebhookSettings().allowed_networks)
    )
    assert named.address.is_loopback and named.host_header == "localhost:8080"
    assert named.pinned_url in ("http://127.0.0.1:8080/x", "http://[::1]:8080/x")
