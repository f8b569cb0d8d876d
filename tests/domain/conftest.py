import datetime as dt

import pytest

from pointillist.domain import PlanRequest, client_from_mapping, consult, load_policy

CONSULTATION = dt.date(2026, 12, 1)  # a Tuesday


@pytest.fixture(scope="session")
def policy():
    return load_policy()


@pytest.fixture
def run(policy):
    """Consult a client given as keyword answers; request options via ``request=``."""

    def _run(request=None, **answers):
        client = client_from_mapping({"pattern": "norwood-5", **answers})
        return consult(client, PlanRequest(CONSULTATION, **(request or {})), policy)

    return _run
