from pathlib import Path

from paperfeed.config import load_settings


def test_defaults_put_sqlite_in_data_dir(monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)
    for key in ("PAPERFEED_DATABASE_URL", "PAPERFEED_DATA_DIR", "PAPERFEED_CONFIG"):
        monkeypatch.delenv(key, raising=False)
    settings = load_settings()
    assert settings.data_dir == Path("data")
    assert settings.resolved_database_url == f"sqlite:///{tmp_path / 'data' / 'paperfeed.db'}"


def test_toml_file_then_environment_then_overrides(monkeypatch, tmp_path):
    toml = tmp_path / "pf.toml"
    toml.write_text('contact_email = "toml@example.org"\nsite_name = "from toml"\narxiv_min_interval = 5.0\n')
    monkeypatch.setenv("PAPERFEED_SITE_NAME", "from env")
    settings = load_settings(toml, arxiv_min_interval=7.5)
    assert settings.contact_email == "toml@example.org"
    assert settings.site_name == "from env"
    assert settings.arxiv_min_interval == 7.5
    assert "mailto:toml@example.org" in settings.user_agent


def test_config_file_in_working_directory_is_not_read_implicitly(monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("PAPERFEED_CONFIG", raising=False)
    (tmp_path / "paperfeed.toml").write_text('contact_email = "sneaky@example.org"\n')
    assert load_settings().contact_email == ""


def test_secret_key_is_generated_once_with_private_permissions(tmp_path):
    settings = load_settings(data_dir=tmp_path)
    first = settings.signing_key()
    assert first == load_settings(data_dir=tmp_path).signing_key()
    assert (tmp_path / "secret_key").stat().st_mode & 0o777 == 0o600
    assert load_settings(data_dir=tmp_path, secret_key="explicit").signing_key() == b"explicit"
