"""Attachments: files clients and staff send, kept in GridFS (bucket ``attachments``) behind a
size limit and a type allow-list, and the rule who may read one.

The type is decided by the file name's extension *and* checked against the content's magic
bytes; the browser's declared type is ignored (it is whatever the client says). Nothing that a
browser would run (HTML, SVG, scripts) is on the list.
"""

from __future__ import annotations

import struct
import unicodedata
from collections.abc import AsyncGenerator, AsyncIterable, AsyncIterator
from contextlib import aclosing
from dataclasses import dataclass, replace
from pathlib import PurePosixPath, PureWindowsPath
from typing import Any

from bson import ObjectId
from bson.errors import InvalidId

from hub.access import may_see
from hub.errors import HubError, PayloadTooLarge, ValidationFailed
from hub.models import Attachment, Conversation, Role, User, utcnow
from hub.store import Store

# How much of a file's start decides its type (magic bytes, text checks).
HEAD_BYTES = 512

# extension -> MIME type of every file type we accept.
ALLOWED_TYPES: dict[str, str] = {
    ".jpg": "image/jpeg",
    ".jpeg": "image/jpeg",
    ".png": "image/png",
    ".gif": "image/gif",
    ".webp": "image/webp",
    ".pdf": "application/pdf",
    ".txt": "text/plain",
    ".csv": "text/csv",
    ".doc": "application/msword",
    ".docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    ".xls": "application/vnd.ms-excel",
    ".xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    ".odt": "application/vnd.oasis.opendocument.text",
    ".ods": "application/vnd.oasis.opendocument.spreadsheet",
    ".zip": "application/zip",
}

# Media platforms (Telegram, VK) deliver on top of the upload list: voice notes, audio, video.
# Never accepted from browser uploads; served as downloads like every other file.
MEDIA_TYPES: dict[str, str] = {
    ".ogg": "audio/ogg",
    ".oga": "audio/ogg",
    ".mp3": "audio/mpeg",
    ".m4a": "audio/mp4",
    ".mp4": "video/mp4",
    ".webm": "video/webm",
}

_ZIP = (b"PK\x03\x04", b"PK\x05\x06")
_OLE = (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1",)
# MIME type -> the content must start with one of these (text types are checked separately).
_MAGIC: dict[str, tuple[bytes, ...]] = {
    "image/jpeg": (b"\xff\xd8\xff",),
    "image/png": (b"\x89PNG\r\n\x1a\n",),
    "image/gif": (b"GIF87a", b"GIF89a"),
    "application/pdf": (b"%PDF-",),
    "audio/ogg": (b"OggS",),
    "video/webm": (b"\x1a\x45\xdf\xa3",),
    "application/msword": _OLE,
    "application/vnd.ms-excel": _OLE,
    "application/zip": _ZIP,
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document": _ZIP,
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": _ZIP,
    "application/vnd.oasis.opendocument.text": _ZIP,
    "application/vnd.oasis.opendocument.spreadsheet": _ZIP,
}


class UnsupportedFileType(HubError):
    status = 415
    code = "unsupported_file_type"


def allowed_extensions() -> str:
    return ", ".join(sorted({ext.lstrip(".") for ext in ALLOWED_TYPES}))


def clean_name(raw: str | None) -> str:
    """A file name fit to store and show: no directories, no control characters, bounded."""
    name = PureWindowsPath(PurePosixPath(raw or "").name).name
    name = "".join(c for c in name if unicodedata.category(c)[0] != "C").strip(" .")
    return name[-200:] or "file"


def check_upload_name(raw: str | None) -> str:
    """The stored name of a browser upload: what ``clean_name`` makes of it, but a name with
    control characters (a NUL, a line break) is refused rather than repaired: no browser sends
    one, so it is someone probing."""
    if raw and any(unicodedata.category(c) == "Cc" for c in raw):
        raise ValidationFailed(
            "the file name has control characters in it", code="invalid_file_name"
        )
    return clean_name(raw)


def detect_type(name: str, head: bytes, *, media: bool = False) -> str:
    """The MIME type of an upload named ``name`` whose content starts with ``head``.

    Raises ``UnsupportedFileType`` for types off the list and for content that is not what the
    extension claims (a renamed executable stays refused). ``media`` also accepts
    ``MEDIA_TYPES`` (files a messaging platform delivered)."""
    ext = PurePosixPath(name.lower()).suffix
    mime = ALLOWED_TYPES.get(ext) or (MEDIA_TYPES.get(ext) if media else None)
    if mime is None:
        raise UnsupportedFileType(
            f"this type of file is not accepted; allowed: {allowed_extensions()}",
            details={"allowed": sorted(ALLOWED_TYPES)},
        )
    if mime.startswith("text/"):
        ok = b"\x00" not in head and _utf8_prefix(head)
    elif mime == "image/webp":
        ok = head[:4] == b"RIFF" and head[8:12] == b"WEBP"
    elif mime in ("audio/mp4", "video/mp4"):
        ok = head[4:8] == b"ftyp"
    elif mime == "audio/mpeg":
        ok = head.startswith(b"ID3") or head[:2] in (b"\xff\xfb", b"\xff\xf3", b"\xff\xf2")
    else:
        ok = head.startswith(_MAGIC[mime])
    if not ok:
        raise UnsupportedFileType(
            f"the file's content is not a valid {ext.lstrip('.')} file",
            code="file_content_mismatch",
        )
    return mime


def _utf8_prefix(head: bytes) -> bool:
    # The head may cut a multi-byte character at its end: allow up to 3 dangling bytes.
    for cut in range(4):
        try:
            head[: len(head) - cut].decode("utf-8")
        except UnicodeDecodeError:
            continue
        return True
    return False


# How much of an image's start ``image_size`` is given: a JPEG's size comes after its EXIF and
# colour profile segments, which fit in one GridFS chunk (255 KB) for camera and phone photos.
SIZE_HEAD_BYTES = 255 * 1024
# EXIF orientations 5-8 turn the picture a quarter: browsers show it with width and height
# swapped (``image-orientation: from-image``, their default).
_QUARTER_TURNS = frozenset({5, 6, 7, 8})
# JPEG start-of-frame markers (baseline, progressive, lossless, arithmetic); C4, C8, CC are not.
_JPEG_FRAMES = frozenset(range(0xC0, 0xD0)) - {0xC4, 0xC8, 0xCC}
# JPEG markers without a length field after them.
_JPEG_BARE = frozenset({0x01, *range(0xD0, 0xD9)})


def image_size(mime: str, head: bytes) -> tuple[int, int] | None:
    """The (width, height) in pixels an image of type ``mime`` is shown at, read from the
    first bytes of its file (``SIZE_HEAD_BYTES`` are enough). ``None`` when it is not an image
    we read, or the head does not say (cut short, malformed): the size is a layout hint, so a
    file we cannot measure is still a file."""
    try:
        if mime == "image/png":
            size = _png_size(head)
        elif mime == "image/gif":
            size = _gif_size(head)
        elif mime == "image/webp":
            size = _webp_size(head)
        elif mime == "image/jpeg":
            size = _jpeg_size(head)
        else:
            return None
    except (struct.error, IndexError):
        return None
    if size is None or size[0] <= 0 or size[1] <= 0:
        return None
    return size


def _png_size(head: bytes) -> tuple[int, int] | None:
    # The signature, then IHDR first: length, "IHDR", width and height (big-endian).
    if head[:8] != b"\x89PNG\r\n\x1a\n" or head[12:16] != b"IHDR":
        return None
    width, height = struct.unpack(">II", head[16:24])
    return width, height


def _gif_size(head: bytes) -> tuple[int, int] | None:
    # The logical screen: width and height after the 6-byte signature (little-endian).
    if head[:6] not in (b"GIF87a", b"GIF89a"):
        return None
    width, height = struct.unpack("<HH", head[6:10])
    return width, height


def _webp_size(head: bytes) -> tuple[int, int] | None:
    # RIFF, the size, WEBP, then the first chunk's four-cc, its size and (at 20) its payload.
    if head[:4] != b"RIFF" or head[8:12] != b"WEBP":
        return None
    kind = head[12:16]
    if kind == b"VP8X":  # extended: the canvas, 24-bit width-1 and height-1 after flags
        return (
            int.from_bytes(head[24:27], "little") + 1,
            int.from_bytes(head[27:30], "little") + 1,
        )
    if kind == b"VP8L":  # lossless: 0x2f, then 14-bit width-1 and height-1
        if head[20] != 0x2F:
            return None
        bits = int.from_bytes(head[21:25], "little")
        return (bits & 0x3FFF) + 1, ((bits >> 14) & 0x3FFF) + 1
    if kind == b"VP8 ":  # lossy: a 3-byte frame tag, the start code, 14-bit width and height
        if head[23:26] != b"\x9d\x01\x2a":
            return None
        width, height = struct.unpack("<HH", head[26:30])
        return width & 0x3FFF, height & 0x3FFF
    return None


def _jpeg_size(head: bytes) -> tuple[int, int] | None:
    # Segments after the SOI marker: 0xFF, the marker, a big-endian length (which counts
    # itself) and the payload; the first start-of-frame holds the height and the width.
    if head[:2] != b"\xff\xd8":
        return None
    orientation = 1
    at = 2
    while at + 4 <= len(head):
        if head[at] != 0xFF:
            return None
        marker = head[at + 1]
        if marker == 0xFF:  # fill byte before a marker
            at += 1
            continue
        if marker in _JPEG_BARE:
            at += 2
            continue
        (length,) = struct.unpack(">H", head[at + 2 : at + 4])
        if length < 2:
            return None
        payload = head[at + 4 : at + 2 + length]
        if marker == 0xE1 and payload[:6] == b"Exif\x00\x00":
            orientation = _exif_orientation(payload[6:]) or orientation
        elif marker in _JPEG_FRAMES:
            height, width = struct.unpack(">HH", payload[1:5])
            return (height, width) if orientation in _QUARTER_TURNS else (width, height)
        elif marker == 0xDA:  # start of scan: no frame header came before the image data
            return None
        at += 2 + length
    return None


def _exif_orientation(tiff: bytes) -> int | None:
    """The Orientation tag (0x0112) of the first IFD of an EXIF block's TIFF data; ``None``
    when it has none or the block is malformed (the frame's own size still counts)."""
    order = {b"II": "<", b"MM": ">"}.get(tiff[:2])
    if order is None:
        return None
    try:
        (ifd,) = struct.unpack(order + "I", tiff[4:8])
        (count,) = struct.unpack(order + "H", tiff[ifd : ifd + 2])
        for n in range(count):
            entry = ifd + 2 + 12 * n
            tag, kind = struct.unpack(order + "HH", tiff[entry : entry + 4])
            if tag == 0x0112 and kind == 3:  # SHORT: the value sits in the entry itself
                (value,) = struct.unpack(order + "H", tiff[entry + 8 : entry + 10])
                return int(value)
    except struct.error:
        return None
    return None


def file_url(file_id: str) -> str:
    """Where a file is read (relative to the hub: the widget and console add the hub's origin)."""
    return f"/api/v1/files/{file_id}"


@dataclass(frozen=True)
class StoredFile:
    id: str
    name: str
    mime: str
    size: int
    owner: dict[str, Any]
    # An image's pixels as shown (None: not an image, or not measured): the attachment carries
    # them so a thread reserves the picture's room before it loads.
    width: int | None = None
    height: int | None = None

    def attachment(self) -> Attachment:
        return Attachment(
            id=self.id,
            name=self.name,
            mime=self.mime,
            size=self.size,
            url=file_url(self.id),
            width=self.width,
            height=self.height,
        )

    def measured(self, head: bytes) -> StoredFile:
        """This file with the size its first bytes give (unchanged when they give none)."""
        size = image_size(self.mime, head)
        if size is None:
            return self
        return replace(self, width=size[0], height=size[1])


async def _chunks(data: bytes) -> AsyncIterator[bytes]:
    yield data


def _oid(file_id: str) -> ObjectId | None:
    try:
        return ObjectId(file_id)
    except (InvalidId, TypeError):
        return None


class Files:
    """The attachments store: ``save``, ``get``, ``read``, and who may read a file."""

    def __init__(self, store: Store, max_bytes: int) -> None:
        self._store = store
        self._files = store.files
        self.max_bytes = max_bytes

    def check_size(self, size: int) -> None:
        if size > self.max_bytes:
            limit_mb = self.max_bytes / (1 << 20)
            raise PayloadTooLarge(
                f"the file is too large: at most {limit_mb:g} MB",
                code="file_too_large",
                details={"max_bytes": self.max_bytes},
            )

    async def save(
        self, name: str, data: bytes, owner: dict[str, Any], *, media: bool = False
    ) -> StoredFile:
        """Check and store one file; ``owner`` says who uploaded it (visitor or staff);
        ``media``: a platform delivered it, so voice, audio and video are accepted too."""
        self.check_size(len(data))
        return await self._store_checked(clean_name(name), _chunks(data), owner, media=media)

    async def upload(
        self, name: str | None, chunks: AsyncIterable[bytes], owner: dict[str, Any]
    ) -> StoredFile:
        """Check and store a browser upload as it arrives, a chunk at a time: never the whole
        file in memory. Refused (too large, wrong type) it leaves nothing stored."""
        return await self._store_checked(check_upload_name(name), chunks, owner, media=False)

    async def _store_checked(
        self, name: str, chunks: AsyncIterable[bytes], owner: dict[str, Any], *, media: bool
    ) -> StoredFile:
        source = aiter(chunks)
        head = bytearray()
        while len(head) < HEAD_BYTES and (chunk := await anext(source, None)) is not None:
            head += chunk
            self.check_size(len(head))
        if not head:
            raise ValidationFailed("the file is empty", code="empty_file")
        size = len(head)
        try:
            mime = detect_type(name, bytes(head[:HEAD_BYTES]), media=media)
        except UnsupportedFileType:
            # "Too large" says more than "wrong type": read on (storing nothing) to tell.
            async for piece in source:
                size += len(piece)
                self.check_size(size)
            raise
        file_id = ObjectId()
        chunk_bytes = self._files.chunk_bytes
        pending, number = head, 0  # bytes not yet in a stored chunk; the next chunk's number
        # An image's first bytes, kept to read its size from once it is all stored.
        sample = bytearray(head) if mime.startswith("image/") else None
        try:
            async for piece in source:
                size += len(piece)
                self.check_size(size)  # stop as soon as it is too large
                if sample is not None and len(sample) < SIZE_HEAD_BYTES:
                    sample += piece[: SIZE_HEAD_BYTES - len(sample)]
                pending += piece
                while len(pending) >= chunk_bytes:
                    await self._write_chunk(file_id, number, pending[:chunk_bytes])
                    del pending[:chunk_bytes]
                    number += 1
            if pending:
                await self._write_chunk(file_id, number, pending)
            # The file document comes last, so no reader ever sees a half-stored file.
            await self._files.finish_file(
                file_id, size=size, name=name, mime=mime, owner=owner, uploaded_at=utcnow()
            )
        except BaseException:
            await self._files.drop_chunks(file_id)  # refused: nothing stays
            raise
        stored = StoredFile(id=str(file_id), name=name, mime=mime, size=size, owner=owner)
        return stored.measured(bytes(sample)) if sample is not None else stored

    async def _write_chunk(self, file_id: ObjectId, number: int, data: bytearray) -> None:
        await self._files.write_chunk(file_id, number, bytes(data))

    async def keep(self, name: str, data: bytes, mime: str, owner: dict[str, Any]) -> StoredFile:
        """Store a file the hub itself vouches for (no size or type checks)."""
        clean = clean_name(name)
        file_id = await self._files.upload(clean, data, mime, owner)
        stored = StoredFile(id=file_id, name=clean, mime=mime, size=len(data), owner=owner)
        return stored.measured(data[:SIZE_HEAD_BYTES])

    async def get(self, file_id: str) -> StoredFile | None:
        oid = _oid(file_id)
        if oid is None:
            return None
        meta = await self._files.get(oid)
        if meta is None:
            return None
        return StoredFile(
            id=file_id, name=meta.name, mime=meta.mime, size=meta.size, owner=meta.owner
        )

    async def read(self, file_id: str) -> bytes:
        oid = _oid(file_id)
        assert oid is not None  # callers read only files that ``get`` found
        return await self._files.read(oid)

    async def stream(self, file_id: str) -> AsyncGenerator[bytes, None]:
        """The file's bytes a GridFS chunk at a time (downloads: bounded memory per reader)."""
        oid = _oid(file_id)
        assert oid is not None  # callers read only files that ``get`` found
        async for chunk in self._files.stream(oid):
            yield chunk

    async def visitor_uploads(
        self, ids: list[str], *, channel_id: str, visitor_id: str
    ) -> list[Attachment]:
        """The attachments for ``ids``, each of which must be this visitor's own upload."""
        return await self._uploads_of(ids, {"channel_id": channel_id, "visitor_id": visitor_id})

    async def staff_uploads(self, ids: list[str], *, user_id: str) -> list[Attachment]:
        """The attachments for ``ids``, each of which must be this staff member's own upload."""
        return await self._uploads_of(ids, {"user_id": user_id})

    async def _uploads_of(self, ids: list[str], owner: dict[str, str]) -> list[Attachment]:
        found = []
        for file_id in dict.fromkeys(ids):
            stored = await self.get(file_id)
            if stored is None or any(stored.owner.get(k) != v for k, v in owner.items()):
                raise ValidationFailed(
                    "an attachment is not one of your uploads", code="unknown_attachment"
                )
            found.append((await self._measure(stored)).attachment())
        return found

    async def _measure(self, stored: StoredFile) -> StoredFile:
        """``stored`` with its image size, read from the start of the stored file: the file
        document keeps no size, so an upload is measured again when a message carries it."""
        if not stored.mime.startswith("image/"):
            return stored
        head = bytearray()
        async with aclosing(self.stream(stored.id)) as chunks:
            async for chunk in chunks:
                head += chunk
                if len(head) >= SIZE_HEAD_BYTES:
                    break
        return stored.measured(bytes(head[:SIZE_HEAD_BYTES]))

    async def _carrier(self, file_id: str) -> Conversation | None:
        """The conversation of a public message that carries this file, if any."""
        conversation_id = await self._store.messages.public_carrier(file_id)
        if conversation_id is None:
            return None
        return await self._store.conversations.get(conversation_id)

    async def visitor_may_read(self, stored: StoredFile, channel_id: str, visitor_id: str) -> bool:
        """Visitors read their own uploads and files in their own conversations."""
        owner = stored.owner
        if owner.get("channel_id") == channel_id and owner.get("visitor_id") == visitor_id:
            return True
        conversation = await self._carrier(stored.id)
        return (
            conversation is not None
            and conversation.channel.id == channel_id
            and conversation.chat_id == visitor_id
        )

    async def staff_may_read(self, stored: StoredFile, user: User) -> bool:
        """Staff read their own uploads and files of conversations they may see."""
        if user.role == Role.ADMIN or stored.owner.get("user_id") == user.id:
            return True
        for conversation_id in await self._store.messages.carriers(stored.id, limit=20):
            conversation = await self._store.conversations.get(conversation_id)
            if conversation is None:
                continue
            line = await self._store.lines.get(conversation.line_id)
            if may_see(user, conversation, line):
                return True
        return False
