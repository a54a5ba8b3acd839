"""Patch application (auditkit/evaluate/k8s_patch.py) and the per-workload replay behind
controls/lib/workload_spec_history.sql (auditkit/evaluate/workload_specs.py)."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import duckdb
import pytest

from auditkit.evaluate.k8s_patch import (
    PatchError,
    apply_merge,
    json_patch,
    merge_patch,
    strategic_merge,
)
from auditkit.evaluate.workload_specs import register, replay, touches


def deployment(*containers: dict[str, Any], **pod: Any) -> dict[str, Any]:
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "api", "namespace": "payments"},
        "spec": {
            "replicas": 2,
            "template": {
                "metadata": {"labels": {"app": "api"}},
                "spec": {"containers": list(containers), **pod},
            },
        },
    }


APP = {"name": "app", "image": "r/api:1", "securityContext": {"runAsNonRoot": True}}
SIDE = {"name": "side", "image": "r/side:1"}


def containers(obj: dict[str, Any]) -> list[dict[str, Any]]:
    return obj["spec"]["template"]["spec"]["containers"]  # type: ignore[no-any-return]


# --------------------------------------------------------------------------- patch types


def test_strategic_merge_merges_containers_by_name() -> None:
    patch = {"spec": {"template": {"spec": {"containers": [{"name": "app", "image": "r/api:2"}]}}}}
    out = containers(strategic_merge(deployment(APP, SIDE), patch))
    assert out[0] == {"name": "app", "image": "r/api:2", "securityContext": {"runAsNonRoot": True}}
    assert out[1] == SIDE


def test_merge_patch_replaces_lists_and_null_deletes() -> None:
    patch = {"spec": {"replicas": None, "template": {"spec": {"containers": [SIDE]}}}}
    out = merge_patch(deployment(APP, SIDE), patch)
    assert containers(out) == [SIDE]
    assert "replicas" not in out["spec"]


def test_strategic_directives() -> None:
    base = deployment(APP, SIDE, volumes=[{"name": "v", "emptyDir": {}}])
    out = strategic_merge(
        base,
        {
            "spec": {
                "template": {
                    "spec": {
                        "$setElementOrder/containers": [{"name": "side"}, {"name": "app"}],
                        "containers": [{"name": "side", "$patch": "delete"}],
                        "volumes": [
                            {"$patch": "replace"},
                            {"name": "w", "hostPath": {"path": "/"}},
                        ],
                    }
                }
            }
        },
    )
    assert [c["name"] for c in containers(out)] == ["app"]
    assert out["spec"]["template"]["spec"]["volumes"] == [{"name": "w", "hostPath": {"path": "/"}}]
    out = strategic_merge(
        base, {"spec": {"template": {"spec": {"$retainKeys": ["containers"], "containers": []}}}}
    )
    assert out["spec"]["template"]["spec"] == {"containers": [APP, SIDE]}
    with pytest.raises(PatchError):
        strategic_merge(base, {"spec": {"$patch": "explode"}})
    with pytest.raises(PatchError):  # a keyed list element without its key
        strategic_merge(base, {"spec": {"template": {"spec": {"containers": [{"image": "x"}]}}}})


def test_json_patch_applies_in_order_and_reports_failures() -> None:
    ops = [
        {
            "op": "add",
            "path": "/spec/template/spec/containers/0/securityContext/privileged",
            "value": True,
        },
        {"op": "test", "path": "/spec/replicas", "value": 2},
    ]
    out = json_patch(deployment(APP), ops)
    assert containers(out)[0]["securityContext"]["privileged"] is True
    with pytest.raises(PatchError, match="operation 0"):
        json_patch(deployment(APP), [{"op": "test", "path": "/spec/replicas", "value": 5}])
    with pytest.raises(PatchError):
        json_patch(deployment(APP), [{"op": "remove", "path": "/spec/nothing"}])


def test_json_patch_size_is_bounded() -> None:
    doom = [{"op": "copy", "from": "", "path": f"/k{i}"} for i in range(40)]
    with pytest.raises(PatchError, match="exceeds"):
        json_patch({"kind": "Deployment", "pad": "x" * 1000}, doom)


def test_apply_merge_keeps_fields_the_configuration_omits() -> None:
    config = deployment({"name": "app", "image": "r/api:3"})
    out = apply_merge(deployment(APP, SIDE), config)
    assert containers(out)[0]["securityContext"] == {"runAsNonRoot": True}
    assert containers(out)[1] == SIDE


# --------------------------------------------------------------------------- replay


def rec(rid: int, op: str, **kw: Any) -> dict[str, Any]:
    base = {
        "rid": rid,
        "at_time": dt.datetime(2026, 8, rid),
        "kind": "Deployment",
        "op": op,
        "verb": "patch",
        "obj": None,
        "body": None,
        "code": 200,
        "uri": "/apis/apps/v1/namespaces/payments/deployments/api",
    }
    for key in ("obj", "body"):
        if key in kw:
            kw[key] = json.dumps(kw[key])
    base.update(kw)
    return base


def image_patch(image: str) -> dict[str, Any]:
    return {"spec": {"template": {"spec": {"containers": [{"name": "app", "image": image}]}}}}


def test_set_image_is_strategic_and_known() -> None:
    out = replay(
        [
            rec(1, "object", obj=deployment(APP)),
            rec(2, "patch", body=image_patch("r/api:2"), uri="/x?fieldManager=kubectl-set"),
        ]
    )
    assert out[0]["changed"] is False
    after = json.loads(out[1]["obj"])
    assert containers(after)[0]["securityContext"] == {"runAsNonRoot": True}
    assert out[1]["how"].startswith("strategic merge patch")


def test_untyped_patch_whose_readings_differ_is_unknown_and_stays_unknown() -> None:
    out = replay(
        [
            rec(1, "object", obj=deployment(APP)),
            rec(2, "patch", body=image_patch("r/api:2"), uri="/x?fieldManager=kubectl-patch"),
            rec(3, "patch", body={"metadata": {"labels": {"a": "b"}}}),
            rec(4, "patch", body=image_patch("r/api:3"), uri="/x?fieldManager=kubectl-set"),
        ]
    )
    assert out[1]["changed"] and out[1]["obj"] is None
    assert "does not record the patch type" in out[1]["problem"]
    assert out[2]["changed"] is False  # labels only: nothing to judge changed
    assert out[3]["obj"] is None and "2026-08-02" in out[3]["problem"]  # unknown since the first


def test_untyped_patch_whose_readings_agree_is_known() -> None:
    bare = {"name": "app", "image": "r/api:1"}
    out = replay(
        [
            rec(1, "object", obj=deployment(bare)),
            rec(2, "patch", body=image_patch("r/api:2"), uri="/x?fieldManager=kubectl-patch"),
        ]
    )
    assert containers(json.loads(out[1]["obj"]))[0]["image"] == "r/api:2"


def test_reading_the_api_server_would_refuse_is_dropped() -> None:
    body = {
        "spec": {
            "template": {
                "spec": {"containers": [{"name": "app", "securityContext": {"privileged": True}}]}
            }
        }
    }
    out = replay([rec(1, "object", obj=deployment(APP)), rec(2, "patch", body=body)])
    assert containers(json.loads(out[1]["obj"]))[0]["securityContext"]["privileged"] is True


def test_patch_without_base_is_unknown_but_apply_created_object_is_known() -> None:
    out = replay([rec(1, "patch", body=image_patch("r/api:2"))])
    assert out[0]["changed"] and "no earlier spec" in out[0]["problem"]
    created = replay([rec(1, "patch", body=deployment(APP), code=201, uri="/x?force=false")])
    assert containers(json.loads(created[0]["obj"])) == [APP]


def test_metadata_level_write_after_a_known_spec_makes_it_unknown() -> None:
    out = replay([rec(1, "object", obj=deployment(APP)), rec(2, "unknown", verb="update")])
    assert out[1]["changed"] and "does not hold" in out[1]["problem"]
    alone = replay([rec(1, "unknown", verb="create")])  # nothing known before: nothing to say
    assert alone[0]["changed"] is False


def test_replica_only_patch_without_base_sets_replicas() -> None:
    out = replay([rec(1, "patch", body={"spec": {"replicas": 0}})])
    assert (out[0]["changed"], out[0]["replicas_set"], out[0]["replicas"]) == (False, True, 0)


def test_touches() -> None:
    assert touches("Deployment", [{"op": "replace", "path": "/spec", "value": {}}]) == (True, True)
    assert touches("Deployment", [{"op": "add", "path": "/metadata/labels/a", "value": "b"}]) == (
        False,
        False,
    )
    assert touches("CronJob", {"spec": {"schedule": "* * * * *"}}) == (False, False)
    assert touches("Pod", {"spec": {"containers": []}}) == (True, False)
    assert touches("Deployment", {"spec": {"template": None}}) == (True, False)


def test_sql_function_registered_twice_and_callable() -> None:
    con = duckdb.connect()
    register(con)
    register(con)
    row = con.execute(
        "SELECT auditkit_replay_workload([{'rid': 1, 'at_time': TIMESTAMP '2026-08-01', "
        "'kind': 'Deployment', 'op': 'patch', 'verb': 'patch', 'obj': NULL, "
        "'body': '{\"spec\": {\"replicas\": 1}}', 'code': 200, 'uri': NULL}])"
    ).fetchone()
    assert row is not None and row[0][0]["replicas"] == 1
