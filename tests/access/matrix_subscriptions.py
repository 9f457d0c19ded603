"""The access matrix's writes of change notifications: subscribing to each layer, removing
and re-sending the matrix's subscription, by every caller (``test_access_matrix``)."""

from __future__ import annotations

from tests.access.matrix_rules import expected_subscribe_status, subscriptions_status
from tests.access.matrix_world import DEPT_A, HOOK, LAYERS, UNKNOWN, World

Levels = dict[str, tuple[str, str | None]]


def subscription_write_problems(world: World, levels: Levels) -> tuple[int, list[str]]:
    """(requests asked, problems): every caller subscribes department A to every layer (the
    ones made are removed again by their maker, as the rules allow), then asks to remove and
    to re-send the matrix's own subscription where the rules refuse it (it must stay)."""
    client, asked, problems = world.client, 0, []
    watched = world.subscription
    for who in world.callers:
        for layer_id in (*LAYERS, UNKNOWN):
            want = expected_subscribe_status(who, layer_id, DEPT_A, levels)
            body = {"department": DEPT_A, "layer": layer_id, "url": HOOK}
            answer = client.post(who.at("/admin/subscriptions"), json=body, headers=who.headers)
            asked += 1
            if answer.status_code != want:
                problems.append(
                    f"{who.name} subscribe to {layer_id}: {answer.status_code}, want {want}"
                )
            if answer.status_code == 201:
                made = answer.json()["subscription"]["id"]
                gone = client.delete(who.at(f"/admin/subscriptions/{made}"), headers=who.headers)
                if gone.status_code != 200:
                    problems.append(f"{who.name} removing their own: {gone.status_code}")
        path = f"/admin/subscriptions/{watched.id}"
        for method, url, ok in (("DELETE", path, 200), ("POST", f"{path}/redeliver", 200)):
            want = subscriptions_status(who, watched.department, ok)
            if want == ok and method == "DELETE":
                continue  # allowed: it would remove the matrix's subscription
            answer = client.request(method, who.at(url), headers=who.headers)
            asked += 1
            if answer.status_code != want:
                problems.append(f"{who.name} {method} {url}: {answer.status_code}, want {want}")
    still = client.get(f"/admin/subscriptions/{watched.id}", headers=_admin(world))
    if still.status_code != 200:
        problems.append(f"the matrix's subscription is gone: {still.status_code}")
    return asked, problems


def _admin(world: World) -> dict[str, str]:
    return next(w for w in world.callers if w.name == "admin").headers
