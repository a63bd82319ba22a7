"""Acceptance 4: files. An image upload shows a progress bar and a preview and the operator can
download it; an oversized file and a forbidden type get clear errors and store nothing. Also
the upload and download endpoints over plain HTTP: tokens, origins, limits."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import aiohttp
from playwright.async_api import Browser, Route, expect

from hub.settings import Settings
from tests.support.clients import Api, new_msg_id, operator_socket, visitor_socket
from tests.widget.conftest import UPLOAD_LIMIT, SiteFactory, shot
from tests.widget.support import (
    accept_next,
    open_widget,
    png_bytes,
    stored_docs,
    widget_world,
)


async def stored_files(api: Api, mongo_url: str, settings: Settings) -> int:
    return len(await stored_docs(mongo_url, settings.mongo_db, "attachments.files", {}))


async def upload(
    http: aiohttp.ClientSession,
    base_url: str,
    name: str,
    data: bytes,
    headers: dict[str, str],
) -> tuple[int, dict[str, Any], Any]:
    form = aiohttp.FormData()
    form.add_field("file", data, filename=name, content_type="application/octet-stream")
    async with http.post(
        f"{base_url}/api/v1/widget/uploads", data=form, headers=headers
    ) as response:
        return response.status, await response.json(), response.headers


async def test_image_upload_preview_download_and_refusals(
    base_url: str,
    admin: Api,
    browser: Browser,
    customer_site: SiteFactory,
    tmp_path: Path,
    mongo_url: str,
    settings: Settings,
) -> None:
    world = await widget_world(admin)
    site = await customer_site(base_url, world.key)
    op_api = world.operators[0]
    operator = await operator_socket(base_url, op_api.token or "")
    page = await open_widget(browser, site)
    picture = png_bytes(64, 48, padding=40_000)
    (tmp_path / "photo.png").write_bytes(picture)

    await page.locator("input[type=file]").set_input_files(str(tmp_path / "photo.png"))
    progress = page.get_by_test_id("ol-upload-progress")
    await expect(progress).to_be_visible()
    await expect(progress).to_have_attribute("value", "100")
    await shot(page, "11-upload-progress")
    await page.get_by_test_id("ol-input").fill("Here is the photo")
    await page.get_by_test_id("ol-send").click()
    bubble = page.get_by_test_id("ol-message").filter(has_text="Here is the photo")
    await expect(bubble).to_contain_text("Sent")
    preview = bubble.get_by_test_id("ol-attachment-image")
    await expect(preview).to_be_visible()
    # The preview really loaded from the hub (authorised by the visitor token).
    await page.wait_for_function(
        "el => el.complete && el.naturalWidth === 64", arg=await preview.element_handle()
    )
    await shot(page, "12-image-preview")

    conversation_id = await accept_next(operator)
    incoming = await operator.events.wait(
        "message:new", lambda d: d["message"]["conversation_id"] == conversation_id
    )
    [attachment] = incoming["message"]["attachments"]
    assert attachment["name"] == "photo.png" and attachment["mime"] == "image/png"
    assert attachment["size"] == len(picture)
    async with aiohttp.ClientSession() as http:
        headers = {"Authorization": f"Bearer {op_api.token}"}
        async with http.get(base_url + attachment["url"], headers=headers) as response:
            assert response.status == 200
            assert response.headers["Content-Type"] == "image/png"
            assert response.headers["X-Content-Type-Options"] == "nosniff"
            assert await response.read() == picture
        # Nobody else: no token, another visitor, a colleague not in the conversation.
        async with http.get(base_url + attachment["url"]) as response:
            assert response.status == 401
        stranger = await visitor_socket(base_url, world.key)
        stranger_token = (await stranger.events.wait("session"))["token"]
        async with http.get(
            base_url + attachment["url"], params={"token": stranger_token}
        ) as response:
            assert response.status == 404
        await stranger.close()
        colleague = await admin.create_user("operator")
        async with http.get(
            base_url + attachment["url"], headers={"Authorization": f"Bearer {colleague.token}"}
        ) as response:
            assert response.status == 404
    assert await stored_files(admin, mongo_url, settings) == 1

    # Too large: refused in the browser with a clear message, before any byte is sent.
    (tmp_path / "huge.png").write_bytes(png_bytes(padding=UPLOAD_LIMIT + 10))
    await page.locator("input[type=file]").set_input_files(str(tmp_path / "huge.png"))
    notice = page.get_by_test_id("ol-notice")
    await expect(notice).to_contain_text("too large")
    await shot(page, "13-file-too-large")
    # A forbidden type: the hub refuses it and the widget shows the hub's reason.
    (tmp_path / "setup.exe").write_bytes(b"MZ\x90\x00" + b"\x00" * 100)
    await page.locator("input[type=file]").set_input_files(str(tmp_path / "setup.exe"))
    await expect(notice).to_contain_text("not accepted")
    await shot(page, "14-file-type-refused")
    await expect(page.get_by_test_id("ol-upload")).to_have_count(0)
    assert await stored_files(admin, mongo_url, settings) == 1
    await operator.close()


async def test_upload_endpoint_rules(
    base_url: str,
    admin: Api,
    http: aiohttp.ClientSession,
    customer_site: SiteFactory,
    mongo_url: str,
    settings: Settings,
) -> None:
    site = (await customer_site(base_url, "x")).rstrip("/")
    world = await widget_world(admin, allowed_origins=[site])
    visitor = await visitor_socket(base_url, world.key, origin=site)
    token = (await visitor.events.wait("session"))["token"]
    ok = {"X-Visitor-Token": token, "Origin": site}

    status, body, _ = await upload(http, base_url, "a.png", png_bytes(), {})
    assert status == 401 and body["error"]["code"] == "unauthenticated"
    status, body, _ = await upload(
        http, base_url, "a.png", png_bytes(), {"X-Visitor-Token": token + "x", "Origin": site}
    )
    assert status == 401 and body["error"]["code"] == "invalid_visitor_token"
    status, body, headers = await upload(
        http, base_url, "a.png", png_bytes(), {**ok, "Origin": "http://evil.example"}
    )
    assert status == 403 and body["error"]["code"] == "origin_not_allowed"
    assert "Access-Control-Allow-Origin" not in headers
    status, body, _ = await upload(http, base_url, "big.png", b"x" * (UPLOAD_LIMIT + 1), ok)
    assert status == 413 and body["error"]["code"] == "file_too_large"
    status, body, headers = await upload(http, base_url, "run.sh", b"#!/bin/sh\n", ok)
    assert status == 415 and body["error"]["code"] == "unsupported_file_type"
    assert headers["Access-Control-Allow-Origin"] == site  # the widget can read the reason
    status, body, _ = await upload(http, base_url, "fake.png", b"MZ" + b"\x00" * 64, ok)
    assert status == 415 and body["error"]["code"] == "file_content_mismatch"
    async with http.post(
        f"{base_url}/api/v1/widget/uploads", data=b"{}", headers={**ok, "Content-Type": "x/y"}
    ) as response:
        assert response.status == 400
    assert await stored_files(admin, mongo_url, settings) == 0

    async with http.options(
        f"{base_url}/api/v1/widget/uploads", headers={"Origin": site}
    ) as response:
        assert response.status == 204
        assert "X-Visitor-Token" in response.headers["Access-Control-Allow-Headers"]
    status, body, headers = await upload(http, base_url, "notes.txt", "Заметки".encode(), ok)
    assert status == 201 and body["mime"] == "text/plain" and body["name"] == "notes.txt"
    assert headers["Access-Control-Allow-Origin"] == site

    # Only the uploader may attach it; a text-less message with a file is fine.
    other = await visitor_socket(base_url, world.key, origin=site)
    ack = await other.call(
        "message:send", {"text": "", "client_msg_id": new_msg_id(), "attachments": [body["id"]]}
    )
    assert not ack["ok"] and ack["error"]["code"] == "unknown_attachment"
    ack = await visitor.call(
        "message:send", {"text": "", "client_msg_id": new_msg_id(), "attachments": [body["id"]]}
    )
    assert ack["ok"], ack
    assert [a["id"] for a in ack["message"]["attachments"]] == [body["id"]]
    ack = await visitor.call("message:send", {"text": " ", "client_msg_id": new_msg_id()})
    assert not ack["ok"] and ack["error"]["code"] == "validation_failed"
    await other.close()
    await visitor.close()


async def test_drop_and_paste_attach_files_too(
    base_url: str, admin: Api, browser: Browser, customer_site: SiteFactory
) -> None:
    world = await widget_world(admin)
    site = await customer_site(base_url, world.key)
    page = await open_widget(browser, site)
    # Browsers build these events from the OS; a page can build the same ones.
    attach_by = """([kind, bytes]) => {
        const root = document.querySelector('#openlines-widget').shadowRoot;
        const file = new File([new Uint8Array(bytes)], kind + '.png', {type: 'image/png'});
        const data = new DataTransfer();
        data.items.add(file);
        if (kind === 'dropped') {
            root.querySelector('[data-testid=ol-panel]').dispatchEvent(
                new DragEvent('drop', {dataTransfer: data, bubbles: true, cancelable: true}));
        } else {
            root.querySelector('[data-testid=ol-input]').dispatchEvent(
                new ClipboardEvent('paste', {clipboardData: data, bubbles: true}));
        }
    }"""
    await page.evaluate(attach_by, ["dropped", list(png_bytes())])
    await page.evaluate(attach_by, ["pasted", list(png_bytes())])
    progress = page.get_by_test_id("ol-upload-progress")
    await expect(progress).to_have_count(2)
    await expect(progress.nth(0)).to_have_attribute("value", "100")
    await expect(progress.nth(1)).to_have_attribute("value", "100")
    await page.get_by_test_id("ol-send").click()
    bubble = page.get_by_test_id("ol-message")
    await expect(bubble.get_by_test_id("ol-attachment-image")).to_have_count(2)
    await expect(bubble).to_contain_text("Sent")
    await expect(page.get_by_test_id("ol-upload")).to_have_count(0)


async def test_send_pressed_during_an_upload_goes_when_the_file_lands(
    base_url: str, admin: Api, browser: Browser, customer_site: SiteFactory, tmp_path: Path
) -> None:
    world = await widget_world(admin)
    site = await customer_site(base_url, world.key)
    page = await open_widget(browser, site)
    held: asyncio.Future[Route] = asyncio.get_running_loop().create_future()

    async def hold(route: Route) -> None:
        held.set_result(route)

    await page.route("**/api/v1/widget/uploads", hold)
    (tmp_path / "slow.png").write_bytes(png_bytes())
    await page.locator("input[type=file]").set_input_files(str(tmp_path / "slow.png"))
    route = await asyncio.wait_for(held, 15)
    await page.get_by_test_id("ol-input").fill("With the file")
    await page.get_by_test_id("ol-send").click()
    # Nothing goes without its file, and the visitor's words stay where they typed them...
    await expect(page.get_by_test_id("ol-input")).to_have_value("With the file")
    await expect(page.get_by_test_id("ol-message")).to_have_count(0)
    # ...until the upload lands: then the message goes, file and all, without a second click.
    await route.continue_()
    bubble = page.get_by_test_id("ol-message").filter(has_text="With the file")
    await expect(bubble.get_by_test_id("ol-attachment-image")).to_have_count(1)
    await expect(bubble).to_contain_text("Sent")
