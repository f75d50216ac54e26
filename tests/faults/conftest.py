from pathlib import Path

import pytest


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        item.add_marker(pytest.mark.integration)
        item.add_marker(pytest.mark.faults)


@pytest.fixture(scope="module")
def src(tmp_path_factory: pytest.TempPathFactory, sample_media: Path) -> Path:
    """A source folder holding Megamind.avi (a link to the sample media), one per test module."""
    d = tmp_path_factory.mktemp("src")
    (d / "Megamind.avi").symlink_to(sample_media / "Megamind.avi")
    return d
