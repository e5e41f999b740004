"""Where the client finds its server and token, and what it says when it cannot."""

from __future__ import annotations

import io
import subprocess
import sys

import pytest

from elue_cli.config import DEFAULT_URL, ConfigError, load_config
from elue_cli.main import main


def test_it_prefers_the_environment_to_the_config_file(tmp_path):
    path = tmp_path / "config.toml"
    path.write_text('url = "https://file.example/"\ntoken = "elue_file_token"\n')
    from_file = load_config({"ELUE_CONFIG": str(path)})
    assert (from_file.url, from_file.token) == ("https://file.example", "elue_file_token")
    from_env = load_config({"ELUE_CONFIG": str(path), "ELUE_URL": "http://env:1",
                            "ELUE_TOKEN": "elue_env_token"})
    assert (from_env.url, from_env.token) == ("http://env:1", "elue_env_token")


def test_it_defaults_to_a_local_server_and_the_xdg_config_home(tmp_path):
    config = load_config({"XDG_CONFIG_HOME": str(tmp_path)})
    assert (config.url, config.token) == (DEFAULT_URL, None)
    assert config.path == tmp_path / "elue" / "config.toml"


@pytest.mark.parametrize("content, message", [
    ('token = "unterminated\n', "not valid TOML"),
    ("token = 42\n", "token must be a quoted string"),
])
def test_it_names_the_config_file_at_fault(tmp_path, content, message):
    path = tmp_path / "config.toml"
    path.write_text(content)
    with pytest.raises(ConfigError, match=message) as error:
        load_config({"ELUE_CONFIG": str(path)})
    assert str(path) in str(error.value)


def test_it_exits_2_on_a_broken_config_file(tmp_path, monkeypatch):
    path = tmp_path / "config.toml"
    path.write_text("token = [\n")
    monkeypatch.setenv("ELUE_CONFIG", str(path))
    err = io.StringIO()
    assert main(["status", "1"], io.StringIO(), err) == 2
    assert f"elue: {path}: not valid TOML" in err.getvalue()


def test_it_explains_how_to_install_what_check_needs(tmp_path):
    # As after a plain `pip install` of the repository: the evaluator's numpy is missing.
    code = ("import sys; sys.modules['numpy'] = None\n"
            "from elue_cli.main import main\n"
            f"sys.exit(main(['check', {str(tmp_path)!r}, '--data', {str(tmp_path)!r}]))")
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=60, check=False)
    assert run.returncode == 2
    assert "elue check needs the evaluator's dependencies (numpy is missing)" in run.stderr
    assert "pip install 'elue-platform[check]'" in run.stderr
