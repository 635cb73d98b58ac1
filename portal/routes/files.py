"""Files: the user's files and their verdicts, upload (the same landing, registry and
notification path as SFTP), and the acknowledgement download.

``POST /api/v1/files`` stages the upload's bytes (fsynced, hashed), lands them
content-addressed, registers the file for the participant (channel ``inbox``, or ``sandbox``
with the flag) and hands the file id to the notifier - exactly what the SFTP gateway does
on a client's close (``casslink.sftp_gateway.landing``). Ingest then acknowledges it into
the participant's outbox, from where ``GET /api/v1/files/{id}/ack`` serves it.
"""

from __future__ import annotations

import logging
from pathlib import Path

from fastapi import APIRouter, Depends, File, Form, HTTPException, Request, UploadFile
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import FileResponse, JSONResponse
from sqlalchemy.orm import Session as DbSession

from casslink.db.engine import session_scope
from casslink.outbox import safe_name
from casslink.portal import views
from casslink.portal.deps import DB, Principal, current_user, selected_participant
from casslink.portal.rendering import render
from casslink.sftp_gateway import landing
from casslink.sftp_gateway.policy import Audit

router = APIRouter()
log = logging.getLogger("casslink.portal")
CHUNK = 1 << 20


def _list(request: Request, s: DbSession, p: Principal) -> list[dict]:
    code = request.query_params.get("participant")
    if code is not None:
        p.require("view", code)
    return views.files_of(s, p, code)


@router.get("/api/v1/files", tags=["files"], response_class=JSONResponse)
def api_files(request: Request, participant: str | None = None,
              p: Principal = Depends(current_user), s: DbSession = DB):
    """The newest files (up to 200) of ``participant`` or of every participant you may view:
    name, channel, state, verdict, period, counts and the ack's download link."""
    return JSONResponse(_list(request, s, p))


def _land(request: Request, p: Principal, code: str, upload: UploadFile,
          sandbox: bool) -> landing.Landed:
    """Stage, land and register an upload for participant ``code`` (blocking)."""
    settings, engine = request.app.state.settings, request.app.state.engine
    with session_scope(engine) as s:
        prow = views.participant(s, code)
        pid = prow.id if prow is not None else None
    if pid is None:
        raise HTTPException(404, "no such participant")
    name = Path(upload.filename or "upload").name or "upload"
    upload.file.seek(0)
    staged, sha, size = landing.stage(settings, iter(lambda: upload.file.read(CHUNK), b""))
    if size == 0:
        staged.unlink(missing_ok=True)
        raise HTTPException(422, "the file is empty")
    landed = landing.land(settings, engine, staged, sha, size, pid, p.login, name,
                          "sandbox" if sandbox else "inbox")
    Audit(settings.logs_dir / "gateway-audit.log")(
        "upload", channel=landed.channel, user=p.login, participant=code, name=name,
        size=size, sha256=sha, file_id=landed.file_id, via="portal")
    return landed


async def _upload(request: Request, p: Principal, participant: str | None,
                  file: UploadFile, sandbox: bool) -> landing.Landed:
    code = participant or request.state.session.participant
    if code is None:
        codes = p.codes_with("upload")
        if len(codes) != 1:
            raise HTTPException(422, "say which participant the file is for")
        code = codes[0]
    p.require("upload", code)
    landed = await run_in_threadpool(_land, request, p, code, file, sandbox)
    request.app.state.notify(landed.file_id)
    return landed


@router.post("/api/v1/files", tags=["files"], status_code=201)
async def api_upload(request: Request, file: UploadFile = File(...),
                     participant: str | None = Form(None), sandbox: bool = Form(False),
                     p: Principal = Depends(current_user)) -> dict:
    """Upload a billing file (multipart ``file``) for ``participant``; ``sandbox=true``
    validates it without billing. It is landed, registered and ingested like an SFTP
    upload; poll ``GET /api/v1/files/{id}`` for the verdict and the ack."""
    landed = await _upload(request, p, participant, file, sandbox)
    return {"id": landed.file_id, "sha256": landed.sha256, "size": landed.size,
            "channel": landed.channel, "name": landed.name, "state": "landed",
            "url": f"/api/v1/files/{landed.file_id}"}


@router.get("/api/v1/files/{file_id}", tags=["files"])
def api_file(file_id: int, p: Principal = Depends(current_user),
             s: DbSession = DB) -> dict:
    """One file: its state, verdict, period and counts."""
    got = views.file_for(s, p, file_id)
    if got is None:
        raise HTTPException(404, "no such file")
    return views.file_dict(*got)


@router.get("/api/v1/files/{file_id}/ack", tags=["files"])
def api_ack(request: Request, file_id: int, p: Principal = Depends(current_user),
            s: DbSession = DB):
    """The file's acknowledgement, as delivered to the participant's outbox."""
    got = views.file_for(s, p, file_id)
    if got is None or not got[0].ack_name:
        raise HTTPException(404, "no acknowledgement (yet)")
    row, code = got
    path = request.app.state.settings.homes_dir / code / "outbox" / safe_name(row.ack_name)
    if not path.is_file():
        raise HTTPException(404, "no acknowledgement (yet)")
    media = "application/xml" if path.suffix == ".xml" else "text/plain"
    return FileResponse(path, media_type=media, filename=path.name)


@router.get("/files", include_in_schema=False)
def files_page(request: Request, p: Principal = Depends(current_user),
               s: DbSession = DB):
    code = selected_participant(request, p)
    files = views.files_of(s, p, code)
    template = "files_table.html" if request.headers.get("hx-request") else "files.html"
    return render(request, template, files=files, current_code=code,
                  can_upload=bool(code and p.can("upload", code)))


@router.post("/files", include_in_schema=False)
async def files_upload_page(request: Request, file: UploadFile = File(...),
                            sandbox: bool = Form(False), p: Principal = Depends(current_user),
                            s: DbSession = DB):
    code = selected_participant(request, p, "upload")
    landed = await _upload(request, p, code, file, sandbox)
    files = views.files_of(s, p, code)
    return render(request, "files_table.html", files=files, current_code=code,
                  notice=landed.name)
