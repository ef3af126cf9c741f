"""A trainer package uploaded through the new-job form is stored in the data dir, or refused
with a message for the user and nothing stored."""

from __future__ import annotations

from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from hpdash.services import uploads
from hpdash.services.uploads import UploadRefused, upload_store


@pytest.fixture
def stored_dir(settings, tmp_path: Path) -> Path:
    settings.DATA_DIR = tmp_path
    return tmp_path / "uploads"


def test_a_wheel_is_stored_under_a_random_directory_with_a_harmless_name(stored_dir):
    path = Path(upload_store(upload=SimpleUploadedFile("..\\..\\my pkg$.whl", b"PK\x03\x04x")))
    assert path.name == "my_pkg_.whl" and path.parent.parent == stored_dir.resolve()
    assert len(path.parent.name) == 32 and path.read_bytes() == b"PK\x03\x04x"


@pytest.mark.parametrize(("name", "content", "message"), [
    ("trainer.py", b"print(1)",
     "The package must be an sdist (.tar.gz or .tgz), a wheel (.whl) or a .zip file."),
    (".tgz", b"\x1f\x8b",
     "The package must be an sdist (.tar.gz or .tgz), a wheel (.whl) or a .zip file."),
    ("trainer.tar.gz", b"not gzip",
     "trainer.tar.gz is not a gzip-compressed tar archive, although its name says so."),
    ("trainer.whl", b"\x1f\x8b\x08\x00", "trainer.whl is not a zip archive, although its name "
                                         "says so."),
])
def test_a_file_that_is_not_a_package_is_refused_and_nothing_is_stored(
        stored_dir, name, content, message):
    with pytest.raises(UploadRefused) as refused:
        upload_store(upload=SimpleUploadedFile(name, content))
    assert str(refused.value) == message
    assert not stored_dir.exists() or not any(stored_dir.iterdir())


def test_a_package_over_the_size_cap_is_refused_with_the_same_message(stored_dir, monkeypatch):
    monkeypatch.setattr(uploads, "MAX_PACKAGE_BYTES", 2 * 1024 * 1024)
    big = SimpleUploadedFile("big.zip", b"PK\x03\x04" + b"x" * 2 * 1024 * 1024)
    with pytest.raises(UploadRefused, match=r"^The package is larger than 2 MiB\.$"):
        upload_store(upload=big)
    assert not stored_dir.exists()
