"""Reading uploaded files: the multipart form of the page and the API, or a raw CSV or notebook body."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, HTTPException, Request
from starlette.datastructures import UploadFile

from autograder.web.guard import BodyTooLarge


@dataclass(frozen=True)
class UploadForm:
    """A predictions file (and the notebook that made it), as sent."""

    data: bytes
    filename: str
    notebook: bytes | None = None
    notebook_name: str | None = None
    csrf: object = None  # the form's CSRF field (pages only)


async def multipart_upload(request: Request) -> UploadForm:
    """The fields of a multipart upload (``file``, optional ``notebook`` and ``csrf``); 400 if unreadable."""
    try:
        form = await request.form(max_files=2, max_fields=4, max_part_size=64 * 1024)
    except BodyTooLarge:
        raise
    except Exception:  # any malformed multipart body: the client's fault
        raise HTTPException(400, "could not read the upload: send multipart/form-data with the CSV in a field "
                                 "named `file`") from None
    upload = form.get("file")
    if not isinstance(upload, UploadFile):
        raise HTTPException(400, "no file: send the predictions CSV in a field named `file`")
    notebook = form.get("notebook")
    attached = isinstance(notebook, UploadFile) and notebook.filename
    return UploadForm(await upload.read(), upload.filename or "predictions.csv",
                      await notebook.read() if attached else None, notebook.filename if attached else None,
                      form.get("csrf"))


async def api_upload(request: Request) -> UploadForm:
    """An upload to the API: a raw ``text/csv`` body (named by ``X-Filename``) or a multipart form."""
    if request.headers.get("content-type", "").split(";")[0].strip().lower() == "text/csv":
        return UploadForm(await request.body(), request.headers.get("x-filename", "predictions.csv"))
    return await multipart_upload(request)


@dataclass(frozen=True)
class NotebookUpload:
    """A handed-in notebook, as sent (the file name only ever checked and shown)."""

    data: bytes
    filename: object
    csrf: object = None


async def notebook_upload(request: Request) -> NotebookUpload:
    """A notebook sent as a raw JSON body (named by ``X-Filename``) or in a multipart field ``notebook``."""
    kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if kind in ("application/json", "application/x-ipynb+json"):
        return NotebookUpload(await request.body(), request.headers.get("x-filename"))
    try:
        form = await request.form(max_files=1, max_fields=2, max_part_size=64 * 1024)
    except BodyTooLarge:
        raise
    except Exception:  # any malformed multipart body: the client's fault
        form = {}
    upload = form.get("notebook")
    if not isinstance(upload, UploadFile):
        raise HTTPException(400, "no notebook: send it as multipart/form-data in a field named `notebook`, "
                                 "or as the body (Content-Type: application/x-ipynb+json, X-Filename: NAME.ipynb)")
    return NotebookUpload(await upload.read(), upload.filename, form.get("csrf"))


PageUpload = Annotated[UploadForm, Depends(multipart_upload)]
ApiUpload = Annotated[UploadForm, Depends(api_upload)]
HandedIn = Annotated[NotebookUpload, Depends(notebook_upload)]
