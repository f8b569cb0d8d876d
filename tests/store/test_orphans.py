"""No orphans: photo files take their name only when their row commits; fsck finds and
removes what no record refers to."""

from __future__ import annotations

import logging
import os
import time
from datetime import datetime

import pytest
from sqlalchemy.exc import StatementError

from pointillist.store.fsck import check_photo_store
from pointillist.store.records import add_photo, add_simulation
from tests.store.conftest import make_world
from tests.web.conftest import png_bytes


def test_a_failed_upload_leaves_no_file(db, photo_store):
    w = make_world(db, "A")
    db.commit()
    with pytest.raises(StatementError):
        # A naive time cannot be stored: the insert fails after the photo was encoded.
        add_photo(
            db,
            w.practitioner_scope,
            photo_store,
            w.client.id,
            png_bytes(),
            kind="top",
            taken_at=datetime(2026, 5, 1, 10, 0),
        )
    db.rollback()
    assert photo_store.files() == [] and photo_store.temporaries() == []


def test_a_rolled_back_simulation_leaves_no_file(db, photo_store):
    w = make_world(db, "A")
    db.commit()
    add_simulation(
        db,
        w.practitioner_scope,
        photo_store,
        w.client.id,
        parameters={"density": 0.7},
        outputs={"a.png": png_bytes(colour=(1, 2, 3)), "b.png": png_bytes(colour=(4, 5, 6))},
    )
    assert photo_store.files() == []  # not before the commit
    db.rollback()
    assert photo_store.files() == [] and photo_store.temporaries() == []


def test_a_committed_photo_takes_its_name_at_commit(db, photo_store):
    w = make_world(db, "A")
    photo = add_photo(db, w.practitioner_scope, photo_store, w.client.id, png_bytes(), kind="top")
    path = photo_store.path_for(photo.sha256, photo.media_type)
    assert not path.exists()
    db.commit()
    assert path.is_file() and photo_store.temporaries() == []


def test_fsck_reports_then_removes_unreferenced_files_and_stale_temporaries(db, photo_store):
    w = make_world(db, "A")
    kept = add_photo(db, w.practitioner_scope, photo_store, w.client.id, png_bytes(), kind="top")
    db.commit()
    stray = photo_store.put(png_bytes(colour=(9, 9, 9)))  # a file no row names
    stray_path = photo_store.path_for(stray.sha256, stray.media_type)
    stale = stray_path.parent / ".upload-crashed"
    stale.write_bytes(b"half a photo")
    old = time.time() - 2 * 3600
    os.utime(stale, (old, old))

    report = check_photo_store(db, photo_store)
    assert report.unreferenced == [stray_path] and report.temporaries == [stale]
    assert stray_path.exists()

    removed = check_photo_store(db, photo_store, remove=True)
    assert removed.removed == 2
    assert not stray_path.exists() and not stale.exists()
    assert photo_store.path_for(kept.sha256, kept.media_type).exists()
    assert check_photo_store(db, photo_store).clean


def test_the_server_reports_leftover_files_at_start(settings, db, caplog):
    from pointillist.store.photos import PhotoStore
    from pointillist.web import create_app

    PhotoStore.from_settings(settings).put(png_bytes(colour=(7, 7, 7)))
    with caplog.at_level(logging.WARNING, logger="pointillist.web.app"):
        create_app(settings)
    assert "1 photo files no record refers to" in caplog.text
