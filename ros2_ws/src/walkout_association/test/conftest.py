from pathlib import Path

import pytest

from walkout_common.store import load_catalog, load_store

ROOT = Path(__file__).resolve().parents[4]


@pytest.fixture(scope="session")
def store():
    return load_store(ROOT / "calibration" / "nanostore" / "store.yaml")


@pytest.fixture(scope="session")
def catalog(store):
    return load_catalog(ROOT / "calibration" / "nanostore" / "catalog.yaml", store)
