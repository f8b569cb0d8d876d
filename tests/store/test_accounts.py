from datetime import timedelta

import pytest

from pointillist.errors import PointillistError
from pointillist.store import accounts
from pointillist.store.clinic import create_user, set_password, update_user
from pointillist.store.errors import Conflict, PermissionDenied
from pointillist.store.models import ApiToken, User, utcnow
from pointillist.store.scope import Scope


def _user(db, w, role="practitioner", email="pat@alpha.example"):
    return create_user(
        db, w.owner, email=email, name="Pat", role=role, password="correct horse battery"
    )


def test_passwords_are_argon2id_and_sign_in_ignores_email_case(db, clinic_a):
    user = _user(db, clinic_a)
    db.commit()
    assert user.password_hash.startswith("$argon2id$")
    assert "correct horse" not in user.password_hash
    assert accounts.authenticate(db, " PAT@alpha.example", "correct horse battery").id == user.id
    assert user.last_login_at is not None
    assert accounts.authenticate(db, "pat@alpha.example", "wrong password!!") is None
    assert accounts.authenticate(db, "nobody@alpha.example", "correct horse battery") is None
    update_user(db, clinic_a.owner, user.id, is_active=False)
    assert accounts.authenticate(db, "pat@alpha.example", "correct horse battery") is None


def test_user_rules(db, clinic_a):
    _user(db, clinic_a)
    with pytest.raises(Conflict):
        _user(db, clinic_a, email="Pat@Alpha.example")
    with pytest.raises(PointillistError, match="at least 12"):
        create_user(db, clinic_a.owner, email="x@y.z", name="X", role="owner", password="short")
    with pytest.raises(PointillistError, match="role"):
        create_user(
            db, clinic_a.owner, email="x@y.z", name="X", role="admin", password="long enough pass"
        )
    with pytest.raises(PermissionDenied, match="needs the owner role"):
        create_user(
            db,
            clinic_a.practitioner_scope,
            email="x@y.z",
            name="X",
            role="owner",
            password="p" * 20,
        )


def test_last_owner_cannot_be_demoted(db, clinic_a):
    owner = _user(db, clinic_a, role="owner", email="boss@alpha.example")
    with pytest.raises(Conflict, match="last active owner"):
        update_user(db, clinic_a.owner, owner.id, role="practitioner")
    with pytest.raises(Conflict, match="last active owner"):
        update_user(db, clinic_a.owner, owner.id, is_active=False)


def test_own_password_change_needs_the_current_one(db, clinic_a):
    user = _user(db, clinic_a)
    me = Scope.for_user(user)
    with pytest.raises(PointillistError, match="current password"):
        set_password(db, me, user.id, "a brand new passphrase", current_password="nope")
    set_password(
        db, me, user.id, "a brand new passphrase", current_password="correct horse battery"
    )
    assert accounts.verify_password(user.password_hash, "a brand new passphrase")


def test_tokens_are_stored_as_hashes_and_can_expire_or_be_revoked(db, clinic_a):
    user = _user(db, clinic_a)
    me = Scope.for_user(user)
    token, record = accounts.issue_token(db, me, user.id, "backup script")
    db.commit()
    assert token.startswith(accounts.TOKEN_PREFIX)
    stored = [getattr(r, c.key) for r in db.query(ApiToken) for c in ApiToken.__table__.columns]
    assert token not in [str(v) for v in stored]
    assert accounts.user_for_token(db, token).id == user.id
    assert accounts.user_for_token(db, token + "x") is None

    short_lived, _ = accounts.issue_token(
        db, me, user.id, "one hour", expires_at=utcnow() + timedelta(hours=1)
    )
    assert accounts.user_for_token(db, short_lived, now=utcnow() + timedelta(hours=2)) is None

    accounts.revoke_token(db, me, record.id)
    assert accounts.user_for_token(db, token) is None
    other = _user(db, clinic_a, email="other@alpha.example")
    with pytest.raises(PermissionDenied):
        accounts.issue_token(db, me, other.id, "not mine")


def test_token_use_is_written_in_batches_not_on_every_read(db, clinic_a):
    user = _user(db, clinic_a)
    token, record = accounts.issue_token(db, Scope.for_user(user), user.id, "script")
    db.commit()
    uses = accounts.TokenUses()
    assert accounts.user_for_token(db, token).id == user.id
    assert not db.dirty and not db.new  # authenticating wrote nothing
    uses.note(token)
    uses.note(token)
    assert uses.flush(db) == 1
    db.commit()
    db.refresh(record)
    assert record.last_used_at is not None
    assert uses.flush(db) == 0


def test_scope_for_user_carries_clinic_role_and_actor(db, clinic_a):
    user = _user(db, clinic_a, role="front-desk")
    scope = Scope.for_user(user)
    assert (scope.clinic_id, scope.role, scope.user_id, scope.actor) == (
        clinic_a.clinic.id,
        "front-desk",
        user.id,
        "pat@alpha.example",
    )
    assert scope.can("book_sessions") and not scope.can("clinical")
    assert isinstance(db.get(User, user.id), User)
