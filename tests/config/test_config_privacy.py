"""Settings from file and environment with errors naming the key; personal data masked in logs."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from ivr.config import load_settings
from ivr.errors import ConfigError
from ivr.privacy import MaskingFilter, mask_cpf, mask_phone, mask_text


def test_file_then_environment(tmp_path: Path) -> None:
    cfg = tmp_path / "ivr.toml"
    cfg.write_text("[ami]\nport = 5039\n[dialer]\nmax_concurrent = 8\n")
    s = load_settings(cfg, env={"IVR_DIALER_MAX_CONCURRENT": "3", "IVR_DATABASE_URL": "sqlite:////srv/ivr/x.db"})
    assert s.ami.port == 5039
    assert s.dialer.max_concurrent == 3
    assert s.database_url == "sqlite:////srv/ivr/x.db"


@pytest.mark.parametrize(
    ("toml", "env", "message"),
    [
        ("[ami]\nport = 'abc'\n", {}, "ami.port"),
        ("[ami]\nprot = 1\n", {}, r"unknown setting \[ami\] prot"),
        ("[ami]\nsecret = 'x'\n", {}, "IVR_AMI_SECRET"),
        ("", {"IVR_DIALER_CALLS_PER_SECOND": "fast"}, "dialer.calls_per_second"),
        ("[speech]\nbarge_in = 'maybe'\n", {}, "speech.barge_in"),
        ("ami = 3\n", {}, r"\[ami\] must be a table"),
    ],
)
def test_errors_name_the_key(tmp_path: Path, toml: str, env: dict[str, str], message: str) -> None:
    cfg = tmp_path / "ivr.toml"
    cfg.write_text(toml)
    with pytest.raises(ConfigError, match=message):
        load_settings(cfg, env=env)


def test_missing_config_file_is_one_line(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="not found"):
        load_settings(tmp_path / "nope.toml", env={})


def test_secret_from_environment_only() -> None:
    s = load_settings(None, env={"IVR_AMI_SECRET": "s3cr3t"})
    assert s.ami.secret == "s3cr3t"


def test_hmac_key_file_created_private(tmp_path: Path) -> None:
    s = load_settings(None, env={"IVR_DATA_DIR": str(tmp_path)})
    key = s.hmac_key()
    assert len(key) == 64 and s.hmac_key() == key
    assert (tmp_path / "hmac.key").stat().st_mode & 0o077 == 0


def test_masks() -> None:
    assert mask_cpf("529.982.247-25") == "***.982.***-**"
    assert mask_cpf("5299") == "***.***.***-**"
    assert mask_phone("+5511987654321") == "***4321"
    text = "debtor 529.982.247-25 at +55 11 98765-4321 or (21) 3456-7890, cpf 52998224725"
    masked = mask_text(text)
    for secret in ("529", "247", "98765", "3456", "52998224725"):
        assert secret not in masked
    assert "***.982.***-**" in masked and "***4321" in masked and "***7890" in masked


def test_old_masks_quoted_in_text_lose_digits_7_to_9() -> None:
    assert mask_text("debtor ***.982.247-** called") == "debtor ***.982.***-** called"


def test_mobile_number_that_passes_the_cpf_check_is_still_masked() -> None:
    from ivr.br.cpf import is_valid_cpf

    assert is_valid_cpf("11980000077")  # a real collision: a São Paulo mobile with valid CPF check digits
    masked = mask_text("tel 11980000077")
    assert masked == "tel ***0077" and "800000" not in masked


def test_logging_filter_masks_tracebacks(caplog: pytest.LogCaptureFixture) -> None:
    logger = logging.getLogger("ivr.test.mask.exc")
    logger.addFilter(MaskingFilter())
    with caplog.at_level(logging.INFO, logger="ivr.test.mask.exc"):
        try:
            raise ValueError("insert failed for PJSIP/11987654321@trunk")
        except ValueError:
            logger.exception("call failed")
    assert "11987654321" not in caplog.text and "***4321" in caplog.text


def test_logging_filter_masks_arguments(caplog: pytest.LogCaptureFixture) -> None:
    logger = logging.getLogger("ivr.test.mask")
    logger.addFilter(MaskingFilter())
    with caplog.at_level(logging.INFO, logger="ivr.test.mask"):
        logger.info("calling %s for cpf %s", "11987654321", "52998224725")
    assert "98765" not in caplog.text and "52998224725" not in caplog.text
    assert "***4321" in caplog.text


def test_missing_key_is_not_silently_recreated_for_an_existing_database(tmp_path: Path) -> None:
    s = load_settings(None, env={"IVR_DATA_DIR": str(tmp_path)})
    with pytest.raises(ConfigError, match="CPF key .* is missing but the database already has debtors"):
        s.hmac_key(create=False)
    assert not (tmp_path / "hmac.key").exists()
    (tmp_path / "hmac.key").mkdir()
    with pytest.raises(ConfigError, match="is a directory"):
        s.hmac_key()
