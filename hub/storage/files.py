"""The attachments GridFS bucket (``attachments.files`` and ``attachments.chunks``): the one
place they are read and written. Checked uploads are written in the bucket's own layout a chunk
at a time (PyMongo's writer holds up to 32 MB before it writes); the file document comes last,
so no reader ever sees a half-stored file. What may be stored and who may read it is
``hub.files``."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import datetime
from typing import Any

from bson import Int64, ObjectId
from gridfs import AsyncGridFSBucket
from pydantic import BaseModel, Field
from pymongo import ASCENDING
from pymongo.asynchronous.database import AsyncDatabase

Doc = dict[str, Any]

BUCKET = "attachments"
# GridFS's default chunk size. Checked files are written in the bucket's layout a chunk at a
# time: PyMongo's own writer (GridIn) holds up to 32 MB before it writes, the whole file here.
CHUNK_BYTES = 255 * 1024


class FileMeta(BaseModel):
    """A stored file's document: its name, type, size and who uploaded it."""

    id: str
    name: str
    mime: str
    size: int
    owner: dict[str, Any] = Field(default_factory=dict)


class FileStore:
    def __init__(
        self, db: AsyncDatabase[Doc], bucket: str = BUCKET, chunk_bytes: int = CHUNK_BYTES
    ) -> None:
        self._bucket = AsyncGridFSBucket(db, bucket_name=bucket, chunk_size_bytes=chunk_bytes)
        self._files = db[f"{bucket}.files"]
        self._chunks = db[f"{bucket}.chunks"]
        self.chunk_bytes = chunk_bytes

    async def ensure_indexes(self) -> None:
        await self._files.create_index([("metadata.owner.visitor_id", ASCENDING)])
        # What GridFS makes on its first write (ours do not go through it).
        await self._chunks.create_index([("files_id", ASCENDING), ("n", ASCENDING)], unique=True)
        await self._files.create_index([("filename", ASCENDING), ("uploadDate", ASCENDING)])

    async def write_chunk(self, file_id: ObjectId, number: int, data: bytes) -> None:
        await self._chunks.insert_one({"files_id": file_id, "n": number, "data": data})

    async def finish_file(
        self,
        file_id: ObjectId,
        *,
        size: int,
        name: str,
        mime: str,
        owner: dict[str, Any],
        uploaded_at: datetime,
    ) -> None:
        """Make a file whose chunks are written visible (its document, last)."""
        await self._files.insert_one(
            {
                "_id": file_id,
                "length": Int64(size),
                "chunkSize": self.chunk_bytes,
                "uploadDate": uploaded_at,
                "filename": name,
                "metadata": {"mime": mime, "owner": owner},
            }
        )

    async def drop_chunks(self, file_id: ObjectId) -> None:
        """Remove the chunks of a file that was refused half-way: nothing of it stays."""
        await self._chunks.delete_many({"files_id": file_id})

    async def upload(self, name: str, data: bytes, mime: str, owner: dict[str, Any]) -> str:
        """Store a whole file through GridFS's own writer; its id."""
        oid = await self._bucket.upload_from_stream(
            name, data, metadata={"mime": mime, "owner": owner}
        )
        return str(oid)

    async def get(self, file_id: ObjectId) -> FileMeta | None:
        doc = await self._files.find_one({"_id": file_id})
        if doc is None:
            return None
        meta = doc.get("metadata") or {}
        return FileMeta(
            id=str(file_id),
            name=str(doc.get("filename") or "file"),
            mime=str(meta.get("mime") or "application/octet-stream"),
            size=int(doc.get("length") or 0),
            owner=dict(meta.get("owner") or {}),
        )

    async def read(self, file_id: ObjectId) -> bytes:
        stream = await self._bucket.open_download_stream(file_id)
        data: bytes = await stream.read()
        return data

    async def stream(self, file_id: ObjectId) -> AsyncIterator[bytes]:
        """The file's bytes a chunk at a time (downloads: bounded memory per reader)."""
        grid_out = await self._bucket.open_download_stream(file_id)
        while chunk := await grid_out.readchunk():
            yield chunk
