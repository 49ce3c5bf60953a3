"""MIRROR_KEYSTORE_PASSWORD_FILE: the keystore password from a file (systemd's LoadCredential)."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.config import SettingsError, load_settings


def test_the_password_is_read_from_the_file_without_its_newline(tmp_path: Path) -> None:
    secret = tmp_path / "keystore_password"
    secret.write_text("s3cret pass\n", encoding="utf-8")
    settings = load_settings(keystore_password_file=secret)
    assert settings.keystore_password is not None
    assert settings.keystore_password.get_secret_value() == "s3cret pass"


def test_the_variable_wins_over_the_file(tmp_path: Path) -> None:
    secret = tmp_path / "keystore_password"
    secret.write_text("from-file", encoding="utf-8")
    settings = load_settings(keystore_password="from-env", keystore_password_file=secret)
    assert settings.keystore_password is not None
    assert settings.keystore_password.get_secret_value() == "from-env"


def test_an_unreadable_file_is_named_in_one_line(tmp_path: Path) -> None:
    with pytest.raises(SettingsError) as caught:
        load_settings(keystore_password_file=tmp_path / "missing")
    message = str(caught.value)
    assert "MIRROR_KEYSTORE_PASSWORD_FILE" in message and "\n" not in message


@pytest.mark.parametrize(
    ("content", "said"),
    [(b"\xff\xfe not text", "not UTF-8 text"), (b"x" * 5000, "longer than")],
)
def test_a_file_that_is_no_password_is_refused_naming_the_variable(
    tmp_path: Path, content: bytes, said: str
) -> None:
    secret = tmp_path / "keystore_password"
    secret.write_bytes(content)
    with pytest.raises(SettingsError) as caught:
        load_settings(keystore_password_file=secret)
    message = str(caught.value)
    assert "MIRROR_KEYSTORE_PASSWORD_FILE" in message and said in message and "\n" not in message
    assert "xxxx" not in message  # nothing of the file's content is said


def test_a_device_that_never_ends_is_refused(tmp_path: Path) -> None:
    with pytest.raises(SettingsError) as caught:
        load_settings(keystore_password_file=Path("/dev/zero"))
    assert "MIRROR_KEYSTORE_PASSWORD_FILE" in str(caught.value)
