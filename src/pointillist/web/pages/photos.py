"""Photos: drag and drop or the tablet's camera; the view (front, top ...) and the
client's marketing consent for each photo, which can be changed later."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response
from starlette.datastructures import UploadFile

from pointillist.errors import PointillistError
from pointillist.store import records
from pointillist.store.errors import NotFound
from pointillist.store.models import PHOTO_KINDS, Client, Photo
from pointillist.web.deps import DbSession
from pointillist.web.pages._common import FormErrors, Page, SignedIn, form_text, redirect, render
from pointillist.web.routers._common import PathId
from pointillist.web.routers.photos import photo_store

router = APIRouter(include_in_schema=False)

KIND_HINTS = {
    "front": "Face on, eyes level: for the hairline",
    "top": "From above: crown and mid-scalp",
    "left": "Left side of the head",
    "right": "Right side of the head",
    "back": "From behind: crown and nape",
    "close-up": "Skin detail, a scar or a patch",
}


def _page(
    request: Request,
    db: DbSession,
    page: Page,
    client: Client,
    form: dict[str, str] | None = None,
    errors: FormErrors | None = None,
) -> Response:
    photos = records.list_for_client(db, page.scope, Photo, client.id)
    return render(
        request,
        "photos/page.html",
        {
            "client": client,
            "photos": list(reversed(photos)),
            "kinds": [(k, KIND_HINTS[k]) for k in PHOTO_KINDS],
            "form": form or {"kind": "front"},
            "errors": errors or FormErrors(),
            "max_bytes": request.app.state.settings.upload_max_bytes,
        },
        status_code=422 if errors else 200,
    )


@router.get("/clients/{client_id}/photos")
def photos_page(request: Request, client_id: PathId, page: SignedIn, db: DbSession) -> Response:
    page.scope.require("clinical")
    return _page(request, db, page, records.get_client(db, page.scope, client_id))


@router.post("/clients/{client_id}/photos")
async def upload(request: Request, client_id: PathId, page: SignedIn, db: DbSession) -> Response:
    page.scope.require("clinical")
    client = records.get_client(db, page.scope, client_id)
    form = await request.form()
    typed = {
        "kind": form_text(form, "kind"),
        "marketing_consent": form_text(form, "marketing_consent"),
    }
    errors = FormErrors()
    # Two inputs: one for a chosen or dropped file, one that opens the tablet's camera.
    chosen = [f for f in (form.get("file"), form.get("camera")) if isinstance(f, UploadFile)]
    data = b""
    for upload_file in chosen:
        data = await upload_file.read()
        if data:
            break
    if not data:
        errors.fields["file"] = "choose a photo, drop one here, or take one with the camera"
    if typed["kind"] not in PHOTO_KINDS:
        errors.fields["kind"] = "choose which view of the head the photo shows"
    if not errors:
        try:
            photo = records.add_photo(
                db,
                page.scope,
                photo_store(request),
                client.id,
                data,
                kind=typed["kind"],
                marketing_consent=typed["marketing_consent"] == "yes",
            )
        except PointillistError as exc:
            errors.add(exc)
        else:
            return redirect(
                request,
                f"/clients/{client.id}/photos",
                flash=f"Photo kept ({photo.kind}, {photo.width} x {photo.height} pixels; "
                "camera and location data removed).",
            )
    errors.summary = errors.summary or "the photo was not kept: see below"
    return _page(request, db, page, client, typed, errors)


@router.post("/clients/{client_id}/photos/{photo_id}/marketing")
async def marketing_consent(
    request: Request, client_id: PathId, photo_id: PathId, page: SignedIn, db: DbSession
) -> Response:
    form = await request.form()
    photo = records.get_clinical(db, page.scope, Photo, photo_id)
    if photo.client_id != client_id:
        raise NotFound(f"no photo {photo_id} for this client")
    agreed = form_text(form, "marketing_consent") == "yes"
    records.set_photo_marketing_consent(db, page.scope, photo.id, agreed)
    message = "Marketing use agreed." if agreed else "Marketing use refused: record only."
    if request.headers.get("HX-Request") == "true":
        return render(
            request, "photos/_card.html", {"photo": photo, "client_id": client_id, "saved": message}
        )
    return redirect(request, f"/clients/{client_id}/photos", flash=message)
