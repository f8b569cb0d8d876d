from datetime import time, timedelta

from pointillist.store.audit import entries
from pointillist.store.records import create_client, record_signed_consent
from pointillist.store.sessions import (
    add_bottle,
    book_session,
    cancel_session,
    complete_session,
    recall_lot,
    record_bottles,
)
from tests.store.conftest import SEAL_KEY, TODAY


def _treat(db, w, client, bottles, *, complete=True, days=0, at=time(9, 0)):
    booked = book_session(
        db,
        w.owner,
        client.id,
        practitioner_id=w.practitioner.id,
        scheduled_on=TODAY + timedelta(days=days),
        start_time=at,
        duration_minutes=120,
    )
    record_bottles(db, w.owner, booked.id, [b.id for b in bottles])
    if complete:
        record_signed_consent(
            db,
            w.owner,
            client.id,
            template_id=w.treatment_template_id,
            signer_name="c",
            signer_ip=None,
            seal_key=SEAL_KEY,
        )
        complete_session(db, w.owner, booked.id)
    return booked


def test_recall_finds_every_client_and_session_that_received_the_lot(db, clinic_a, clinic_b):
    w = clinic_a
    recalled = add_bottle(
        db, w.owner, brand="Ink Co", shade="Dark", lot="R-77", expires_on=TODAY + timedelta(days=90)
    )
    # A second physical bottle of the same lot.
    twin = add_bottle(
        db, w.owner, brand="Ink Co", shade="Dark", lot="R-77", expires_on=TODAY + timedelta(days=90)
    )
    other = create_client(db, w.owner, name="Other Client", phone="+31 6 1234")
    untouched = create_client(db, w.owner, name="Untouched Client")

    s1 = _treat(db, w, w.client, [recalled, w.bottle])
    s2 = _treat(db, w, other, [twin], complete=False, days=7)  # planned: swap before the day
    s3 = _treat(db, w, other, [recalled], complete=False, days=14)
    cancel_session(db, w.owner, s3.id)  # cancelled: no pigment went in
    _treat(db, w, untouched, [w.bottle], at=time(14, 0))
    # Clinic B used a bottle with the same lot number: not clinic A's business.
    b_bottle = add_bottle(
        db,
        clinic_b.owner,
        brand="Ink Co",
        shade="Dark",
        lot="R-77",
        expires_on=TODAY + timedelta(days=90),
    )
    _treat(db, clinic_b, clinic_b.client, [b_bottle])
    db.commit()

    hits = recall_lot(db, w.practitioner_scope, "r-77")
    assert {(h.client_id, h.session_id) for h in hits} == {(w.client.id, s1.id), (other.id, s2.id)}
    assert {h.status for h in hits} == {"completed", "planned"}
    by_client = {h.client_id: h for h in hits}
    assert by_client[other.id].client_phone == "+31 6 1234"
    assert by_client[w.client.id].client_email == "client@alpha.example"

    assert [h.session_id for h in recall_lot(db, clinic_b.owner, "R-77")] != []
    assert recall_lot(db, w.owner, "R-77", brand="Other Brand") == []

    logged = entries(db, w.owner, entity="pigment_lot")
    assert [(e.action, e.detail["lot"], e.detail["sessions"]) for e in logged] == [
        ("recall", "R-77", 0),
        ("recall", "r-77", 2),
    ]
