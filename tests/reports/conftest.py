from tests.domain.conftest import policy, run

__all__ = ["policy", "run"]
