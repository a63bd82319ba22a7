"""Acceptance 7: the loader stays under 2 KB and the bundle (socket.io-client included) under
40 KB gzipped; the hub serves both as JavaScript with cache headers, gzipped on request."""

from __future__ import annotations

import gzip
import json

import aiohttp

from widget.web import DIST

LOADER_MAX_BYTES = 2 * 1024
BUNDLE_MAX_GZIP_BYTES = 40 * 1024


def test_loader_and_bundle_sizes() -> None:
    loader = (DIST / "loader.js").read_bytes()
    bundle = (DIST / "widget.js").read_bytes()
    assert len(loader) <= LOADER_MAX_BYTES, f"loader is {len(loader)} bytes"
    gzipped = len(gzip.compress(bundle, compresslevel=9))
    assert gzipped <= BUNDLE_MAX_GZIP_BYTES, f"bundle is {gzipped} bytes gzipped"
    # socket.io-client is really inside, not fetched from elsewhere.
    assert b"engine.io" in bundle or b"EIO" in bundle


async def test_served_with_types_and_cache(base_url: str, http: aiohttp.ClientSession) -> None:
    version = json.loads((DIST / "manifest.json").read_text())["widget"]
    async with http.get(f"{base_url}/widget/loader.js") as response:
        assert response.status == 200
        assert response.content_type == "text/javascript"
        assert "max-age=3600" in response.headers["Cache-Control"]
        loader = await response.read()
    # The loader asks for exactly this build: it can be cached for a year.
    assert f"/widget/widget.js?v={version}".encode() in loader
    async with http.get(
        f"{base_url}/widget/widget.js?v={version}",
        headers={"Accept-Encoding": "gzip"},
        auto_decompress=False,
    ) as response:
        assert response.status == 200
        assert response.content_type == "text/javascript"
        assert response.headers["Cache-Control"] == "public, max-age=31536000, immutable"
        assert response.headers["Content-Encoding"] == "gzip"
        assert len(await response.read()) <= BUNDLE_MAX_GZIP_BYTES
    async with http.get(f"{base_url}/widget/widget.js?v=old") as response:
        assert response.headers["Cache-Control"] == "no-cache"
