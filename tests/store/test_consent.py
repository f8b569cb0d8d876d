import hashlib

import pytest
from sqlalchemy import text, update
from sqlalchemy.exc import DBAPIError

from pointillist.store.errors import ImmutableRecord
from pointillist.store.models import Consent, SignedConsentError
from pointillist.store.records import (
    add_template_version,
    consent_templates,
    prepare_consent,
    record_signed_consent,
    sign_consent,
)
from tests.store.conftest import SEAL_KEY


def _signed(db, w):
    consent = record_signed_consent(
        db,
        w.front_desk,
        w.client.id,
        template_id=w.treatment_template_id,
        signer_name="Alex Client",
        signer_ip="192.0.2.7",
        seal_key=SEAL_KEY,
    )
    db.commit()
    return consent


def test_signed_copy_keeps_text_hash_signer_time_and_ip(db, clinic_a):
    consent = _signed(db, clinic_a)
    assert "alpha" in consent.text and "{clinic}" not in consent.text
    assert consent.content_sha256 == hashlib.sha256(consent.text.encode()).hexdigest()
    assert consent.signer_name == "Alex Client"
    assert consent.signer_ip == "192.0.2.7"
    assert consent.signed_at is not None and consent.signed_at.tzinfo is not None


def test_repository_refuses_to_sign_twice(db, clinic_a):
    consent = _signed(db, clinic_a)
    with pytest.raises(ImmutableRecord, match="cannot be changed"):
        sign_consent(
            db,
            clinic_a.owner,
            consent.id,
            signer_name="Someone Else",
            signer_ip=None,
            seal_key=SEAL_KEY,
        )


def test_orm_refuses_to_flush_a_change_to_a_signed_consent(db, clinic_a):
    consent = _signed(db, clinic_a)
    consent.text = "I agree to nothing"
    with pytest.raises(SignedConsentError):
        db.flush()
    db.rollback()


def test_database_refuses_a_change_to_a_signed_consent(db, clinic_a):
    consent = _signed(db, clinic_a)
    # Straight SQL, past the ORM: the trigger stops it.
    with pytest.raises(DBAPIError, match="signed"):
        db.execute(update(Consent).where(Consent.id == consent.id).values(signer_name="X"))
    db.rollback()
    with pytest.raises(DBAPIError, match="signed"):
        db.execute(text("UPDATE consents SET signed_at = NULL"))
    db.rollback()
    assert db.get(Consent, consent.id).signer_name == "Alex Client"


def test_unsigned_consent_can_be_signed_once(db, clinic_a):
    w = clinic_a
    draft = prepare_consent(db, w.owner, w.client.id, template_id=w.treatment_template_id)
    assert draft.signed_at is None
    signed = sign_consent(
        db, w.owner, draft.id, signer_name="Alex", signer_ip=None, seal_key=SEAL_KEY
    )
    db.commit()
    assert signed.signed_at is not None


def test_new_wording_is_a_new_version_and_old_signatures_keep_theirs(db, clinic_a):
    w = clinic_a
    old = _signed(db, w)
    new = add_template_version(
        db, w.owner, "treatment", "New text for {clinic}.", sources=["EN 17169"]
    )
    assert new.version == 2
    assert [t.version for t in consent_templates(db, w.owner, name="treatment")] == [1, 2]
    db.refresh(old)
    assert "New text" not in old.text


def test_default_templates_cite_their_sources(db, clinic_a):
    templates = {t.name: t for t in consent_templates(db, clinic_a.owner)}
    sources = " ".join(templates["treatment"].sources)
    for cited in ("EN 17169", "REACH Annex XVII entry 75", "GDPR art. 9"):
        assert cited in sources
    assert "photo-marketing" in templates
