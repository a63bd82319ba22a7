"""Issue #15, point 12: pipelines and their stages are edited whole: created, renamed,
reordered, recoloured and deleted; what would strand deals is refused with a clear 409."""

from __future__ import annotations

from tests.support.clients import Api


async def _pipeline(admin: Api) -> dict:
    created = await admin.post(
        "/api/v1/crm/pipelines",
        {
            "name": "Repairs",
            "stages": [
                {"name": "Booked"},
                {"name": "Fixing", "color": "#ff8800"},
                {"name": "Done", "semantic": "won"},
            ],
        },
        expect=201,
    )
    return await admin.get(f"/api/v1/crm/pipelines/{created['id']}")


async def test_stages_are_renamed_recoloured_reordered_added_and_removed(admin: Api) -> None:
    pipeline = await _pipeline(admin)
    booked, fixing, done = pipeline["stages"]
    assert fixing["color"] == "#ff8800" and booked["color"] is None
    stages = [
        {**fixing, "name": "Repairing", "color": "#00aa00"},
        {**booked, "color": "#123456"},
        {"name": "Waiting for parts"},
        done,
    ]
    # The first stage must stay an open one; "Repairing" is.
    edited = await admin.patch(
        f"/api/v1/crm/pipelines/{pipeline['id']}", {"name": "Repair shop", "stages": stages}
    )
    assert edited["name"] == "Repair shop"
    assert [s["name"] for s in edited["stages"]] == [
        "Repairing",
        "Booked",
        "Waiting for parts",
        "Done",
    ]
    assert [s["id"] for s in edited["stages"]][:2] == [fixing["id"], booked["id"]]
    assert [s["color"] for s in edited["stages"]] == ["#00aa00", "#123456", None, None]
    assert await admin.get(f"/api/v1/crm/pipelines/{pipeline['id']}") == edited

    # A deal in a stage keeps it through a reorder; the stage cannot go while it is there.
    deal = await admin.post(
        "/api/v1/crm/deals",
        {"title": "Bike", "pipeline_id": pipeline["id"], "stage": booked["id"]},
        expect=201,
    )
    without_booked = [s for s in edited["stages"] if s["id"] != booked["id"]]
    status, body = await admin.call(
        "PATCH", f"/api/v1/crm/pipelines/{pipeline['id']}", {"stages": without_booked}
    )
    assert status == 409, body
    assert body["error"]["code"] == "stage_in_use"
    assert body["error"]["details"] == {"deals": 1, "stages": [booked["id"]]}
    assert "move them" in body["error"]["message"]
    assert await admin.get(f"/api/v1/crm/pipelines/{pipeline['id']}") == edited

    # A stage listed without "color" keeps its colour (a client that knows no colours).
    plain = [{k: v for k, v in s.items() if k != "color"} for s in edited["stages"]]
    kept = await admin.patch(f"/api/v1/crm/pipelines/{pipeline['id']}", {"stages": plain})
    assert kept == edited

    # Once the deal moved on, the stage goes.
    await admin.patch(f"/api/v1/crm/deals/{deal['id']}", {"stage": fixing["id"]})
    after = await admin.patch(
        f"/api/v1/crm/pipelines/{pipeline['id']}", {"stages": without_booked}
    )
    assert booked["id"] not in [s["id"] for s in after["stages"]]


async def test_bad_stage_lists_are_refused_whole(admin: Api) -> None:
    pipeline = await _pipeline(admin)
    booked, _fixing, done = pipeline["stages"]
    path = f"/api/v1/crm/pipelines/{pipeline['id']}"
    for stages, code in (
        ([booked, booked, done], "invalid_stages"),
        ([done, booked], "invalid_stages"),
        ([{**booked, "color": "red"}], "validation_failed"),
        ([{**booked, "color": "#12345g"}], "validation_failed"),
        ([{"id": "other", "name": "X"}], "unknown_stage"),
    ):
        status, body = await admin.call("PATCH", path, {"stages": stages})
        assert status == 422, (stages, body)
        assert body["error"]["code"] == code, body
    status, body = await admin.call("PATCH", path, {"stages": [{**booked, "color": "red"}]})
    # The message names the field, so the console can show it where the stage is edited.
    assert "color" in body["error"]["message"], body
    assert await admin.get(path) == pipeline


async def test_a_pipeline_is_deleted_only_when_no_deal_is_in_it(admin: Api) -> None:
    pipeline = await _pipeline(admin)
    path = f"/api/v1/crm/pipelines/{pipeline['id']}"
    deal = await admin.post(
        "/api/v1/crm/deals", {"title": "Car", "pipeline_id": pipeline["id"]}, expect=201
    )
    status, body = await admin.call("DELETE", path)
    assert status == 409, body
    assert body["error"]["code"] == "pipeline_in_use"
    assert body["error"]["details"] == {"deals": 1}
    assert await admin.get(path) == pipeline

    manager = await admin.create_user("manager")
    status, _ = await manager.call("DELETE", path)
    assert status == 403

    status, body = await admin.call("DELETE", "/api/v1/crm/pipelines/sales")
    assert status == 409 and body["error"]["code"] == "default_pipeline", body

    # The deal moves to another pipeline (its first stage), then the pipeline goes.
    moved = await admin.patch(f"/api/v1/crm/deals/{deal['id']}", {"pipeline_id": "sales"})
    assert (moved["pipeline_id"], moved["stage"]) == ("sales", "new")
    await admin.call("DELETE", path, expect=204)
    status, _ = await admin.call("GET", path)
    assert status == 404
    status, _ = await admin.call("DELETE", path)
    assert status == 404
    names = [p["name"] for p in (await admin.get("/api/v1/crm/pipelines"))["pipelines"]]
    assert names == ["Sales"]


async def test_a_deal_moves_to_a_stage_of_another_pipeline(admin: Api) -> None:
    pipeline = await _pipeline(admin)
    done = pipeline["stages"][2]
    deal = await admin.post("/api/v1/crm/deals", {"title": "Van"}, expect=201)
    path = f"/api/v1/crm/deals/{deal['id']}"
    status, body = await admin.call(
        "PATCH", path, {"pipeline_id": pipeline["id"], "stage": "invoice"}
    )
    assert status == 422 and body["error"]["code"] == "unknown_stage", body
    status, body = await admin.call("PATCH", path, {"pipeline_id": "nope"})
    assert status == 422 and body["error"]["code"] == "unknown_pipeline", body
    assert (await admin.get(path))["pipeline_id"] == "sales"
    moved = await admin.patch(path, {"pipeline_id": pipeline["id"], "stage": done["id"]})
    assert (moved["pipeline_id"], moved["stage"], moved["closed"], moved["won"]) == (
        pipeline["id"],
        done["id"],
        True,
        True,
    )
    timeline = await admin.get(f"{path}/timeline")
    [change] = [a for a in timeline["activities"] if a["type"] == "stage_changed"]
    assert change["text"] == "New → Done"


async def test_a_stage_that_changes_kind_takes_its_deals_with_it(admin: Api) -> None:
    pipeline = await _pipeline(admin)
    booked, fixing, done = pipeline["stages"]
    deal = await admin.post(
        "/api/v1/crm/deals",
        {"title": "Boat", "pipeline_id": pipeline["id"], "stage": fixing["id"]},
        expect=201,
    )
    assert (deal["closed"], deal["won"]) == (False, None)
    path = f"/api/v1/crm/pipelines/{pipeline['id']}"
    for semantic, closed, won in (
        ("lost", True, False),
        ("won", True, True),
        ("open", False, None),
    ):
        await admin.patch(path, {"stages": [booked, {**fixing, "semantic": semantic}, done]})
        stored = await admin.get(f"/api/v1/crm/deals/{deal['id']}")
        assert (stored["closed"], stored["won"]) == (closed, won), semantic
