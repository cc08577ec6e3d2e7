"""Settings precedence: command-line flags > environment NEWSDESK_* > newsdesk.toml (in the
working directory, or the file NEWSDESK_CONFIG names) > defaults; values are typed and a bad one
is a one-line NewsdeskError naming where it came from."""

from __future__ import annotations

from pathlib import Path

import pytest

from index.errors import NewsdeskError
from index.settings import Settings, default_home, load_settings


def write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def test_defaults_without_flags_env_or_file(tmp_path):
    settings = load_settings(env={}, cwd=tmp_path)
    assert settings == Settings()
    assert settings.home == default_home() and settings.top_k == 40
    assert settings.answerer == "auto" and settings.chroma_url == ""
    assert settings.lexical_file == Path(default_home()) / "lexical" / "newsdesk.sqlite3"


def test_each_source_overrides_the_one_below_it(tmp_path):
    write(tmp_path / "newsdesk.toml", 'top_k = 7\nmax_citations = 2\nllm_model = "toml"\n'
                                      'collection = "from-toml"\n')
    env = {"NEWSDESK_TOP_K": "9", "NEWSDESK_LLM_MODEL": "env"}
    flags = {"llm_model": "flag", "max_citations": None}  # None: the flag was not given
    settings = load_settings(flags, env=env, cwd=tmp_path)
    assert settings.collection == "from-toml"  # only the file sets it
    assert settings.max_citations == 2  # an unset flag does not hide the file
    assert settings.top_k == 9  # env over the file, and typed
    assert settings.llm_model == "flag"  # a flag over env and file
    assert settings.llm_timeout == Settings().llm_timeout  # nobody sets it: the default


def test_an_empty_env_value_counts_as_unset(tmp_path):
    write(tmp_path / "newsdesk.toml", "top_k = 7\n")
    assert load_settings(env={"NEWSDESK_TOP_K": ""}, cwd=tmp_path).top_k == 7


def test_newsdesk_config_names_the_file_and_the_working_directory_one_is_then_ignored(tmp_path):
    write(tmp_path / "newsdesk.toml", "top_k = 7\n")
    other = write(tmp_path / "elsewhere.toml", '[newsdesk]\ntop_k = 11\nhome = "/data/nd"\n')
    settings = load_settings(env={"NEWSDESK_CONFIG": str(other)}, cwd=tmp_path)
    assert settings.top_k == 11 and settings.home == "/data/nd"
    assert settings.lexical_file == Path("/data/nd/lexical/newsdesk.sqlite3")
    # A named file that does not exist is not an error: nothing comes from a file then.
    missing = {"NEWSDESK_CONFIG": str(tmp_path / "missing.toml")}
    assert load_settings(env=missing, cwd=tmp_path).top_k == 40


def test_values_are_typed_from_strings(tmp_path):
    settings = load_settings({"port": "8001"}, env={"NEWSDESK_LLM_TIMEOUT": "2.5",
                                                   "NEWSDESK_CHUNK_TOKENS": "64"}, cwd=tmp_path)
    assert settings.port == 8001 and settings.llm_timeout == 2.5 and settings.chunk_tokens == 64


@pytest.mark.parametrize("flags, env, toml, message", [
    ({}, {"NEWSDESK_TOP_K": "many"}, None, "NEWSDESK_TOP_K: setting 'top_k' must be a int"),
    ({"port": "eighty"}, {}, None, "--port: setting 'port' must be a int"),
    ({}, {}, "top_k = 'x'\n", "setting 'top_k' must be a int"),
    ({}, {}, "topk = 3\n", "unknown setting(s) ['topk']"),
    ({}, {}, "top_k = \n", "cannot read settings"),
    ({"answerer": "oracle"}, {}, None, "answerer 'oracle' is not one of auto, local, served"),
])
def test_a_bad_value_is_one_line_naming_its_origin(tmp_path, flags, env, toml, message):
    if toml is not None:
        write(tmp_path / "newsdesk.toml", toml)
    with pytest.raises(NewsdeskError) as info:
        load_settings(flags, env=env, cwd=tmp_path)
    text = str(info.value)
    assert message in text and "\n" not in text
    if toml is not None:
        assert str(tmp_path / "newsdesk.toml") in text


def test_the_cli_resolves_flags_over_the_process_environment(tmp_path, monkeypatch):
    from ui.cli import settings_from

    monkeypatch.chdir(tmp_path)
    write(tmp_path / "newsdesk.toml", 'home = "/from/toml"\ntop_k = 5\n')
    monkeypatch.setenv("NEWSDESK_HOME", "/from/env")
    assert settings_from(home=None).home == "/from/env"
    assert settings_from(home="/from/flag").home == "/from/flag"
    assert settings_from().top_k == 5
