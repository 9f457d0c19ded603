"""Jobs belong to their caller (issue 13): one caller neither lists, reads nor dismisses
another's job; admins see all; a published result is as closed as its strictest input and
belongs to the publisher's department; an unpublished result is its owner's alone."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient

from tests.access.ownership_fixtures import (
    A_PUBLIC,
    B_RESTRICTED,
    DEPT_B,
    as_,
    audit_rows,
    owned,
    wait_for_layer,
)
from tests.helpers.wait import wait_for_job

__all__ = ["owned"]  # the fixture
BUFFER = "/processes/buffer-zones/execution"


def _buffer(layer_id: str, **extra: Any) -> dict[str, Any]:
    body = {"inputs": {"sites": {"collection": layer_id}, "distance_m": 50}}
    return body | {"outputs": {"zones": {}}} | extra


class _As:
    def __init__(self, client: TestClient, who: str) -> None:
        self.client, self.headers = client, as_(who)

    def get(self, url: str) -> Any:
        return self.client.get(url, headers=self.headers)


def _listed(client: TestClient, who: str | None) -> set[str]:
    headers = as_(who) if who else {}
    jobs = client.get("/jobs", params={"limit": 1000}, headers=headers).json()["jobs"]
    return {job["jobID"] for job in jobs}


def test_a_callers_jobs_are_theirs(owned: TestClient, sample_url: str) -> None:
    async_ = {"Prefer": "respond-async"}
    alice = owned.post(BUFFER, json=_buffer(A_PUBLIC), headers=as_("alice") | async_)
    bob = owned.post(BUFFER, json=_buffer(A_PUBLIC), headers=as_("bob") | async_)
    assert alice.status_code == bob.status_code == 201, alice.text
    alice_job, bob_job = alice.json()["jobID"], bob.json()["jobID"]
    assert wait_for_job(_As(owned, "alice"), alice_job)["status"] == "successful"
    assert wait_for_job(_As(owned, "bob"), bob_job)["status"] == "successful"

    assert alice_job in _listed(owned, "alice") and bob_job not in _listed(owned, "alice")
    assert {alice_job, bob_job} <= _listed(owned, "root")  # admins: every job
    assert not {alice_job, bob_job} & _listed(owned, None)
    for suffix in ("", "/results", "/results/zones"):
        assert owned.get(f"/jobs/{bob_job}{suffix}", headers=as_("alice")).status_code == 404
        assert owned.get(f"/jobs/{bob_job}{suffix}").status_code == 404
        assert owned.get(f"/jobs/{bob_job}{suffix}", headers=as_("bob")).status_code == 200
    assert owned.delete(f"/jobs/{bob_job}", headers=as_("alice")).status_code == 404
    assert owned.get(f"/jobs/{bob_job}", headers=as_("bob")).json()["status"] == "successful"
    dismissed = owned.delete(f"/jobs/{alice_job}", headers=as_("alice"))
    assert dismissed.status_code == 200 and dismissed.json()["status"] == "dismissed"
    assert owned.delete(f"/jobs/{bob_job}", headers=as_("root")).status_code == 200

    outcomes = [
        (r["detail"]["job"], r["outcome"]) for r in audit_rows(sample_url, "job.dismiss", "alice")
    ]
    assert outcomes == [(bob_job, "denied"), (alice_job, "ok")]
    assert audit_rows(sample_url, "job.dismiss", "root")[-1]["outcome"] == "ok"


def test_an_anonymous_job_is_reached_only_by_its_url(owned: TestClient) -> None:
    job_id = owned.post(BUFFER, json=_buffer(A_PUBLIC)).headers["x-onemap-job"]
    assert job_id not in _listed(owned, None) and job_id not in _listed(owned, "alice")
    assert owned.get(f"/jobs/{job_id}/results").status_code == 200
    assert owned.get(f"/jobs/{job_id}", headers=as_("alice")).status_code == 404
    assert job_id in _listed(owned, "root")


def test_a_result_inherits_the_strictest_input_level(owned: TestClient, sample_url: str) -> None:
    publish = {"publish": {"collection": "own-result-b", "output": "zones"}}
    hidden = owned.post(BUFFER, json=_buffer(B_RESTRICTED) | publish, headers=as_("alice"))
    assert hidden.status_code == 400 and "does not exist" in hidden.json()["detail"]
    member = owned.post(BUFFER, json=_buffer(B_RESTRICTED) | publish, headers=as_("bea"))
    assert member.status_code == 403  # reads B's layer, publishes nothing
    assert owned.post(BUFFER, json=_buffer(A_PUBLIC) | publish).status_code == 403
    done = owned.post(BUFFER, json=_buffer(B_RESTRICTED) | publish, headers=as_("bob"))
    assert done.status_code == 200, done.text
    layer = wait_for_layer(owned, "own-result-b")
    assert layer["accessLevel"] == "restricted" and layer["department"]["id"] == DEPT_B
    assert layer["metadata"]["derived_from"]["owner"] == "bob"
    assert owned.get("/collections/own-result-b").status_code == 404
    assert owned.get("/collections/own-result-b", headers=as_("alice")).status_code == 404
    assert owned.get("/collections/own-result-b", headers=as_("bea")).status_code == 200
    job = done.headers["x-onemap-job"]
    assert owned.get(f"/jobs/{job}/results", headers=as_("bea")).status_code == 404  # bob's
    again = owned.post(BUFFER, json=_buffer(B_RESTRICTED) | publish, headers=as_("alice"))
    assert again.status_code in (400, 409)  # B's input hidden from alice; the id is taken

    public = {"publish": {"collection": "own-result-a", "output": "zones"}}
    mine = owned.post(BUFFER, json=_buffer(A_PUBLIC) | public, headers=as_("alice"))
    assert mine.status_code == 200, mine.text
    layer = wait_for_layer(owned, "own-result-a")
    assert layer["accessLevel"] == "public" and layer["department"]["id"] == "own-a"
    theirs = owned.post(BUFFER, json=_buffer(A_PUBLIC) | public, headers=as_("bob"))
    assert theirs.status_code in (403, 409)  # another department's (and publisher's) result

    published = audit_rows(sample_url, "layer.publish", "bob")
    outcomes = [(r["layer_id"], r["version"], r["outcome"]) for r in published]
    assert outcomes[0] == ("own-result-b", 1, "ok")
    assert outcomes[1:] == [("own-result-a", None, "failed")]  # refused before its job
    assert audit_rows(sample_url, "layer.publish", "bea")[-1]["outcome"] == "denied"
