"""Tests for ecs_models.names: Ollama's model-name grammar, defaults, display and safety.

The rules under test are docs/ollama-protocol.md section 3 (Names). The security property is
that whatever text a user types, parse_model_name either refuses it with InvalidNameError or
returns a name whose manifest path stays strictly inside <root>/manifests, exactly 4 levels down.
"""

from __future__ import annotations

import json
import os
import re
import string
from collections.abc import Iterator
from pathlib import Path
from typing import Any, cast

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from ecs_models.errors import EcsModelsError, InvalidNameError
from ecs_models.names import (
    DEFAULT_HOST,
    DEFAULT_NAMESPACE,
    DEFAULT_TAG,
    ModelName,
    is_valid_model_name,
    parse_model_name,
    source_suffix,
    split_source_suffix,
)

# --------------------------------------------------------------------------------------------
# Helpers
# --------------------------------------------------------------------------------------------

HOST_MAX = 350
PART_MAX = 80
SCHEME_MAX = 80

_FIRST_CHARS = string.ascii_letters + string.digits + "_"
_BASE_CHARS = _FIRST_CHARS + "-"

# An independent statement of the grammar in section 3, used as an oracle. It is written as one
# regular expression over the whole input rather than part by part, as names.py does. A scheme
# (any word up to the first "://") only goes before a host, as in Ollama's types/model/name.go.
_ORACLE = re.compile(
    r"(?:(?:(?:(?P<scheme>(?:(?!://)[^\s\x00@\\])*)://)?"
    r"(?P<host>[A-Za-z0-9_][A-Za-z0-9_.:-]*)/)?(?P<namespace>[A-Za-z0-9_][A-Za-z0-9_-]*)/)?"
    r"(?P<model>[A-Za-z0-9_][A-Za-z0-9_.-]*)"
    r"(?::(?P<tag>[A-Za-z0-9_][A-Za-z0-9_.-]*))?"
)
# Ollama's source suffixes (internal/modelref): ":local" goes, ":cloud" becomes a legacy tag.
_SOURCE_SUFFIX = re.compile(r"(?P<base>.*):(?P<word>[^:]*)", re.DOTALL)


def _oracle_source(text: str) -> str | None:
    """The name with a :local/:cloud suffix resolved; None when both are given."""
    found = _SOURCE_SUFFIX.fullmatch(text)
    if found is None:
        return text
    base, word = found["base"], found["word"]
    if word.lower() == "local":
        source, stem = "local", base
    elif word.lower() == "cloud":
        source, stem = "cloud", base
    elif "/" not in word and word.lower().endswith("-cloud"):
        source, stem = "cloud", f"{base}:{word[: -len('-cloud')]}"
    else:
        return text
    inner = _SOURCE_SUFFIX.fullmatch(stem)
    if inner is not None:
        inner_word = inner["word"].lower()
        if inner_word in ("local", "cloud") or (
            "/" not in inner_word and inner_word.endswith("-cloud")
        ):
            return None
    if source == "local":
        return stem
    tagged = stem.rfind(":") > stem.rfind("/")
    return stem + ("-cloud" if tagged else ":cloud")


def oracle_parse(text: str) -> tuple[str, str, str, str] | None:
    """(host, namespace, model, tag) per the documented grammar, or None when it is invalid."""
    resolved = _oracle_source(text.strip())
    if resolved is None:
        return None
    m = _ORACLE.fullmatch(resolved)
    if m is None:
        return None
    host = m["host"] or DEFAULT_HOST
    namespace = m["namespace"] or DEFAULT_NAMESPACE
    model = m["model"]
    tag = m["tag"] or DEFAULT_TAG
    if len(host) > HOST_MAX or len(namespace) > PART_MAX:
        return None
    if len(model) > PART_MAX or len(tag) > PART_MAX or len(m["scheme"] or "") > SCHEME_MAX:
        return None
    return (host, namespace, model, tag)


def error_of(text: str) -> str:
    """The message of the InvalidNameError that parsing `text` raises."""
    with pytest.raises(InvalidNameError) as info:
        parse_model_name(text)
    return str(info.value)


_QUOTED = re.compile(r"'(?:[^'\\]|\\.)*'|\"(?:[^\"\\]|\\.)*\"")


def assert_one_sentence(message: str, *, max_len: int = 1000) -> None:
    """A message a user reads: one sentence, one line, no traceback-like text, bounded length."""
    assert message, "empty error message"
    assert "\n" not in message and "\r" not in message, message
    assert "Traceback" not in message and 'File "' not in message, message
    assert message.endswith("."), message
    assert message[0].isupper(), message
    assert len(message) <= max_len, f"{len(message)} characters: {message[:120]}..."
    # Outside the quoted user input, no sentence may end before the final full stop.
    bare = _QUOTED.sub("Q", message)
    assert re.search(r"[.!?]\s+\S", bare[:-1]) is None, message
    assert not bare[:-1].rstrip().endswith("."), message


def short_id(value: object) -> str:
    """A readable pytest id for possibly huge or unprintable parameters."""
    text = ascii(value)
    return text if len(text) <= 40 else f"{text[:30]}...<{len(text)}>"


# --------------------------------------------------------------------------------------------
# Defaults and the accepted forms
# --------------------------------------------------------------------------------------------


def test_defaults_are_ollamas() -> None:
    assert DEFAULT_HOST == "registry.ollama.ai"
    assert DEFAULT_NAMESPACE == "library"
    assert DEFAULT_TAG == "latest"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("llama3", ("registry.ollama.ai", "library", "llama3", "latest")),
        ("llama3:8b", ("registry.ollama.ai", "library", "llama3", "8b")),
        ("llama3.2", ("registry.ollama.ai", "library", "llama3.2", "latest")),
        ("qwen3:0.6b", ("registry.ollama.ai", "library", "qwen3", "0.6b")),
        ("library/llama3", ("registry.ollama.ai", "library", "llama3", "latest")),
        ("ns/m:tag", ("registry.ollama.ai", "ns", "m", "tag")),
        ("jmorganca/llama3:latest", ("registry.ollama.ai", "jmorganca", "llama3", "latest")),
        ("host:5000/ns/m:tag", ("host:5000", "ns", "m", "tag")),
        ("host:5000/ns/m", ("host:5000", "ns", "m", "latest")),
        ("localhost/ns/m", ("localhost", "ns", "m", "latest")),
        ("registry.ollama.ai/library/llama3:latest", (DEFAULT_HOST, "library", "llama3", "latest")),
        (
            "hf.co/bartowski/Llama-3.2-1B-Instruct-GGUF:Q4_K_M",
            ("hf.co", "bartowski", "Llama-3.2-1B-Instruct-GGUF", "Q4_K_M"),
        ),
        (
            "huggingface.co/unsloth/Qwen3-8B-GGUF:UD-Q4_K_XL",
            ("huggingface.co", "unsloth", "Qwen3-8B-GGUF", "UD-Q4_K_XL"),
        ),
        ("_/_/_:_", ("_", "_", "_", "_")),
        ("1/2/3:4", ("1", "2", "3", "4")),
        ("m:v1.2.3-rc_1", (DEFAULT_HOST, DEFAULT_NAMESPACE, "m", "v1.2.3-rc_1")),
        ("10.0.0.1:11434/team/model.v2:q8_0", ("10.0.0.1:11434", "team", "model.v2", "q8_0")),
        # A lone host:port with no slash is model:tag, as in Ollama.
        ("localhost:5000", (DEFAULT_HOST, DEFAULT_NAMESPACE, "localhost", "5000")),
        # Surrounding whitespace (a pasted name) is ignored.
        ("  llama3:8b\n", (DEFAULT_HOST, DEFAULT_NAMESPACE, "llama3", "8b")),
        ("\tns/m ", (DEFAULT_HOST, "ns", "m", "latest")),
    ],
    ids=short_id,
)
def test_accepted_forms(text: str, expected: tuple[str, str, str, str]) -> None:
    parsed = parse_model_name(text)
    assert parsed.path_parts == expected
    assert (parsed.host, parsed.namespace, parsed.model, parsed.tag) == expected
    assert parsed.scheme is None
    assert is_valid_model_name(text)
    assert oracle_parse(text) == expected


def test_llama3_full_form() -> None:
    parsed = parse_model_name("llama3")
    assert parsed == ModelName("registry.ollama.ai", "library", "llama3", "latest")
    assert str(parsed) == "registry.ollama.ai/library/llama3:latest"
    assert parsed.display == "llama3:latest"
    assert parsed.repository == "library/llama3"
    assert parsed.path_parts == ("registry.ollama.ai", "library", "llama3", "latest")


def test_hf_co_is_just_another_host() -> None:
    parsed = parse_model_name("hf.co/bartowski/Llama-3.2-1B-Instruct-GGUF:Q4_K_M")
    assert parsed.host == "hf.co"
    assert parsed.repository == "bartowski/Llama-3.2-1B-Instruct-GGUF"
    assert parsed.tag == "Q4_K_M"
    assert str(parsed) == "hf.co/bartowski/Llama-3.2-1B-Instruct-GGUF:Q4_K_M"
    assert parsed.display == "hf.co/bartowski/Llama-3.2-1B-Instruct-GGUF:Q4_K_M"
    # Without a tag the default tag applies, as for any host.
    assert parse_model_name("hf.co/bartowski/Llama-3.2-1B-Instruct-GGUF").tag == "latest"


def test_case_is_preserved() -> None:
    parsed = parse_model_name("HF.co/Bartowski/Llama-3.2:Q4_K_M")
    assert parsed.path_parts == ("HF.co", "Bartowski", "Llama-3.2", "Q4_K_M")
    assert str(parsed) == "HF.co/Bartowski/Llama-3.2:Q4_K_M"


def test_default_host_parameter() -> None:
    parsed = parse_model_name("ns/m:t", default_host="example.com:8080")
    assert parsed.path_parts == ("example.com:8080", "ns", "m", "t")
    # An explicit host wins over the default.
    assert parse_model_name("h/ns/m", default_host="example.com").host == "h"
    with pytest.raises(InvalidNameError, match="host"):
        parse_model_name("m", default_host="bad/host")


# --------------------------------------------------------------------------------------------
# Scheme prefixes
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "scheme", "parts"),
    [
        (
            "https://registry.ollama.ai/library/llama3:8b",
            "https",
            (DEFAULT_HOST, "library", "llama3", "8b"),
        ),
        ("http://localhost:5000/ns/m", "http", ("localhost:5000", "ns", "m", "latest")),
        ("HTTPS://hf.co/u/r:Q8_0", "https", ("hf.co", "u", "r", "Q8_0")),
        ("Http://h/n/m:t", "http", ("h", "n", "m", "t")),
        # Any scheme word goes before a host, as in Ollama; only http and https are kept.
        ("ftp://h/ns/m", None, ("h", "ns", "m", "latest")),
        (
            "scheme://host:port/namespace/model:tag",
            None,
            ("host:port", "namespace", "model", "tag"),
        ),
        ("://h/n/m", None, ("h", "n", "m", "latest")),
        ("oci+tls://h.example/n/m:t", None, ("h.example", "n", "m", "t")),
    ],
    ids=short_id,
)
def test_scheme_prefix(text: str, scheme: str | None, parts: tuple[str, str, str, str]) -> None:
    parsed = parse_model_name(text)
    assert parsed.scheme == scheme
    assert parsed.path_parts == parts
    assert oracle_parse(text) == parts


def test_scheme_is_not_identity() -> None:
    plain = parse_model_name("h/ns/m:t")
    with_scheme = parse_model_name("https://h/ns/m:t")
    assert with_scheme == plain
    assert hash(with_scheme) == hash(plain)
    assert str(with_scheme) == "h/ns/m:t"
    assert with_scheme.path_parts == plain.path_parts


@pytest.mark.parametrize(
    "text",
    [
        "file:///etc/passwd",
        "ws://m",
        "://m",
        # A scheme only goes before a host: Ollama refuses these too.
        "http://m",
        "https://llama3",
        "https://ns/m",
        "http://ns/m:t",
        "https:/h/ns/m",
        "https//h/ns/m",
        "http://",
        "https://https://h/ns/m",
        "a" * 5000 + "://m",
    ],
    ids=short_id,
)
def test_bad_scheme_rejected(text: str) -> None:
    assert_one_sentence(error_of(text))
    assert not is_valid_model_name(text)


def test_scheme_without_a_host_says_so() -> None:
    message = error_of("http://m")
    assert "scheme" in message and "host" in message


def test_other_scheme_words_are_no_transport() -> None:
    # Ollama drops whatever word comes before "://"; only http and https say how to connect.
    for text in ("ftp://h/ns/m", "FILE://h/ns/m:t", "ssh://h/ns/m"):
        parsed = parse_model_name(text)
        assert parsed.scheme is None
        assert parsed == parse_model_name(text.split("://", 1)[1])
    assert error_of("s" * (SCHEME_MAX + 1) + "://h/n/m").count(str(SCHEME_MAX)) == 1


# --------------------------------------------------------------------------------------------
# Ollama's own test tables (tests/fixtures/ollama-names/name_table.json names their source)
# --------------------------------------------------------------------------------------------

_TABLE = json.loads((Path(__file__).parent / "fixtures/ollama-names/name_table.json").read_text())


def _expand(text: str) -> str:
    for key, value in _TABLE["constants"].items():
        text = text.replace("{" + key + "}", value)
    return text


@pytest.mark.parametrize(("text", "parts"), _TABLE["parse_parts"], ids=short_id)
def test_ollama_parse_name_parts(text: str, parts: list[str]) -> None:
    parsed = parse_model_name(_expand(text))
    assert parsed.path_parts == tuple(_expand(part) for part in parts)
    assert oracle_parse(_expand(text)) == parsed.path_parts


@pytest.mark.parametrize("case", _TABLE["is_valid"], ids=lambda case: short_id(case["name"]))
def test_ollama_name_is_valid(case: dict[str, Any]) -> None:
    text = _expand(case["name"])
    if case["valid"]:
        # Valid in Ollama's bare parse: every part given, and it prints back the same.
        assert str(parse_model_name(text)) == text
    elif case.get("after_defaults"):
        # Only a part was missing: the defaults Ollama's ParseName fills complete it.
        assert str(parse_model_name(text)) != text
        assert is_valid_model_name(text)
    else:
        assert_one_sentence(error_of(text))
    assert (oracle_parse(text) is not None) == (case["valid"] or bool(case.get("after_defaults")))


@pytest.mark.parametrize(("kind", "part", "valid"), _TABLE["valid_part"], ids=short_id)
def test_ollama_valid_part(kind: str, part: str, valid: bool) -> None:
    text = {"host": f"{part}/n/m:t", "namespace": f"h/{part}/m:t", "model": f"h/n/{part}:t"}[kind]
    assert is_valid_model_name(text) == valid
    if valid:
        assert getattr(parse_model_name(text), kind) == part


@pytest.mark.parametrize(("text", "display"), _TABLE["display_shortest"], ids=short_id)
def test_ollama_display_shortest(text: str, display: str) -> None:
    assert parse_model_name(text).display == display


@pytest.mark.parametrize(("namespace", "valid"), _TABLE["valid_namespace"], ids=short_id)
def test_ollama_valid_namespace(namespace: str, valid: bool) -> None:
    assert is_valid_model_name(f"h/{namespace}/m:t") == valid


@pytest.mark.parametrize("case", _TABLE["parse_ref"], ids=lambda case: short_id(case["input"]))
def test_ollama_source_suffix(case: dict[str, Any]) -> None:
    if "error" in case:
        with pytest.raises(InvalidNameError) as info:
            parse_model_name(case["input"])
        assert_one_sentence(str(info.value))
        if case["error"].startswith("use either"):
            assert case["error"] in str(info.value)
        return
    assert source_suffix(case["input"].strip()) == (case["base"], case["source"])


@pytest.mark.parametrize(
    "case", _TABLE["normalize_pull_name"], ids=lambda case: short_id(case["input"])
)
def test_ollama_normalize_pull_name(case: dict[str, Any]) -> None:
    if "error" in case:
        assert case["error"] in error_of(case["input"])
        return
    assert split_source_suffix(case["input"]) == case["name"]
    assert parse_model_name(case["input"]) == parse_model_name(case["name"])


@pytest.mark.parametrize(
    ("text", "same_as"),
    [
        ("llama3:local", "llama3:latest"),
        ("llama3:8b:local", "llama3:8b"),
        ("LLAMA3:8B:LOCAL", "LLAMA3:8B"),
        ("ns/m:local", "ns/m:latest"),
        ("localhost:5000/library/small:v1:local", "localhost:5000/library/small:v1"),
        ("https://h/n/m:t:local", "h/n/m:t"),
        ("gpt-oss:20b:CLOUD", "gpt-oss:20b-cloud"),
    ],
    ids=short_id,
)
def test_source_suffix_goes_before_anything_else(text: str, same_as: str) -> None:
    assert parse_model_name(text).path_parts == parse_model_name(same_as).path_parts
    assert oracle_parse(text) == parse_model_name(same_as).path_parts


# --------------------------------------------------------------------------------------------
# Display short forms
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "display"),
    [
        ("llama3", "llama3:latest"),
        ("llama3:8b", "llama3:8b"),
        ("registry.ollama.ai/library/llama3:latest", "llama3:latest"),
        ("library/qwen3:0.6b", "qwen3:0.6b"),
        ("jmorganca/llama3", "jmorganca/llama3:latest"),
        ("registry.ollama.ai/jmorganca/llama3:8b", "jmorganca/llama3:8b"),
        (
            "hf.co/bartowski/Llama-3.2-1B-Instruct-GGUF:Q4_K_M",
            "hf.co/bartowski/Llama-3.2-1B-Instruct-GGUF:Q4_K_M",
        ),
        ("hf.co/library/m", "hf.co/library/m:latest"),
        ("localhost:5000/library/m:latest", "localhost:5000/library/m:latest"),
        # Ollama compares the defaults without regard to case.
        ("Registry.Ollama.AI/Library/Llama3:Latest", "Llama3:Latest"),
        ("REGISTRY.OLLAMA.AI/Team/m", "Team/m:latest"),
    ],
    ids=short_id,
)
def test_display(text: str, display: str) -> None:
    assert parse_model_name(text).display == display


def test_display_always_keeps_the_tag() -> None:
    for text in ("m", "m:latest", "ns/m", "h/ns/m", "h/library/m:latest"):
        assert parse_model_name(text).display.endswith(":latest")


def test_display_drops_host_only_for_the_default_host() -> None:
    # A host that merely resembles the default is kept.
    for host in (
        "registry.ollama.ai:443",
        "registry.ollama.ai.evil",
        "ollama.ai",
        "registry-ollama-ai",
    ):
        parsed = parse_model_name(f"{host}/library/m:t")
        assert parsed.display == f"{host}/library/m:t"


# --------------------------------------------------------------------------------------------
# Case-insensitive matching, equality and with_tag
# --------------------------------------------------------------------------------------------


def test_case_insensitive_matching() -> None:
    upper = parse_model_name("Llama3")
    lower = parse_model_name("llama3")
    assert upper.matches(lower) and lower.matches(upper)
    assert upper != lower  # identity keeps case; only lookup folds it
    assert upper.match_key == lower.match_key == (DEFAULT_HOST, "library", "llama3", "latest")
    assert upper.path_parts == (DEFAULT_HOST, "library", "Llama3", "latest")


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("Llama3", "llama3"),
        ("LLAMA3:LATEST", "llama3"),
        ("Registry.Ollama.AI/Library/Llama3:8B", "llama3:8b"),
        ("HF.CO/Bartowski/Model:Q4_K_M", "hf.co/bartowski/model:q4_k_m"),
        ("https://h/N/m", "H/n/M"),
    ],
    ids=short_id,
)
def test_matches_ignores_case(a: str, b: str) -> None:
    assert parse_model_name(a).matches(parse_model_name(b))


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("llama3", "llama3:8b"),
        ("llama3", "llama3.1"),
        ("llama3", "other/llama3"),
        ("llama3", "hf.co/library/llama3"),
        ("ns/m", "ns-/m"),
    ],
    ids=short_id,
)
def test_matches_distinguishes_names(a: str, b: str) -> None:
    assert not parse_model_name(a).matches(parse_model_name(b))


def test_model_name_is_frozen_and_hashable() -> None:
    parsed = parse_model_name("ns/m:t")
    with pytest.raises(AttributeError):
        cast(Any, parsed).tag = "other"
    assert {parsed, parse_model_name("ns/m:t")} == {parsed}


def test_with_tag() -> None:
    base = parse_model_name("https://hf.co/u/r:Q4_K_M")
    other = base.with_tag("Q8_0")
    assert other.path_parts == ("hf.co", "u", "r", "Q8_0")
    assert other.scheme == "https"
    assert base.tag == "Q4_K_M"  # the original is untouched
    assert parse_model_name("llama3").with_tag("8b") == parse_model_name("llama3:8b")
    assert parse_model_name("m").with_tag("v1.2_x-y").tag == "v1.2_x-y"
    assert parse_model_name("m").with_tag("t" * PART_MAX).tag == "t" * PART_MAX


@pytest.mark.parametrize(
    "tag",
    ["", "a:b", "a/b", "../x", "..", ".", "-x", ".x", "a b", "a\x00", "a\\b", "a@b", "t" * 81, "é"],
)
def test_with_tag_rejects_bad_tags(tag: str) -> None:
    with pytest.raises(InvalidNameError) as info:
        parse_model_name("m").with_tag(tag)
    message = str(info.value)
    assert_one_sentence(message)
    assert "tag" in message


# --------------------------------------------------------------------------------------------
# Part grammar and lengths
# --------------------------------------------------------------------------------------------


def test_length_limits_exact() -> None:
    host = "h" * HOST_MAX
    ns = "n" * PART_MAX
    model = "m" * PART_MAX
    tag = "t" * PART_MAX
    parsed = parse_model_name(f"{host}/{ns}/{model}:{tag}")
    assert parsed.path_parts == (host, ns, model, tag)
    assert parse_model_name("h." * 174 + "hh/n/m").host == "h." * 174 + "hh"


@pytest.mark.parametrize(
    ("text", "kind"),
    [
        ("h" * (HOST_MAX + 1) + "/n/m:t", "host"),
        ("h/" + "n" * (PART_MAX + 1) + "/m:t", "namespace"),
        ("h/n/" + "m" * (PART_MAX + 1) + ":t", "model"),
        ("h/n/m:" + "t" * (PART_MAX + 1), "tag"),
        ("m" * (PART_MAX + 1), "model"),
        ("n" * (PART_MAX + 1) + "/m", "namespace"),
    ],
    ids=short_id,
)
def test_length_limits_exceeded(text: str, kind: str) -> None:
    message = error_of(text)
    assert_one_sentence(message)
    assert kind in message
    assert ("350" if kind == "host" else "80") in message


@pytest.mark.parametrize(
    "text",
    [
        "h.example.com/n/m",
        "h:1/n/m",
        "h:/n/m",
        "h::1/n/m",
        "h-1_x.y:2/n/m",
        "_h/n/m",
        "0/n/m",
        "h../n/m",
        "n-_x/m",
        "m.",
        "m..",
        "m-",
        "m:t.",
        "m:t..",
        "m:t-",
        "m:0",
        "M_1.2-3:T_4.5-6",
    ],
    ids=short_id,
)
def test_grammar_accepts(text: str) -> None:
    assert is_valid_model_name(text)
    assert oracle_parse(text) is not None


@pytest.mark.parametrize(
    ("text", "kind"),
    [
        # The namespace may not hold "." or ":".
        ("n.x/m", "namespace"),
        ("h/n.x/m", "namespace"),
        ("h/n:1/m", "namespace"),
        ("host:5000/m", "namespace"),
        # Every part starts with a letter, digit or "_".
        ("-h/n/m", "host"),
        (".h/n/m", "host"),
        (":h/n/m", "host"),
        ("h/-n/m", "namespace"),
        ("h/n/-m", "model"),
        ("h/n/.m", "model"),
        ("-m", "model"),
        (".m", "model"),
        ("m:-t", "tag"),
        ("m:.t", "tag"),
        ("m:_t", None),
        # Characters no part may hold.
        ("h!/n/m", "host"),
        ("h/n$/m", "namespace"),
        ("h/n/m*", "model"),
        ("m:t+b", "tag"),
        ("m:t%", "tag"),
        ("m~", "model"),
        ("m?", "model"),
        ("m#x", "model"),
        ("lläma", "model"),
        ("ns/modèle", "model"),
        ("hôst/ns/m", "host"),
        ("m:ťag", "tag"),
        ("m\u200b", "model"),
        ("m\uff0e", "model"),
        ("m\u2215x", "model"),
        ("m\x7f", "model"),
        ("m\x01", "model"),
        # The model may not hold ":"; a second ":" is not a tag.
        ("m:t:u", "model"),
        ("ns/m:t:u", "model"),
    ],
    ids=short_id,
)
def test_grammar_rejects(text: str, kind: str | None) -> None:
    if kind is None:
        assert is_valid_model_name(text)
        return
    message = error_of(text)
    assert_one_sentence(message)
    assert kind in message, message
    assert oracle_parse(text) is None


# --------------------------------------------------------------------------------------------
# Malformed input: every failure is InvalidNameError with one sentence naming the problem
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "needle"),
    [
        ("", "name"),
        ("   ", "name"),
        ("\t\n", "name"),
        ("\u3000", "name"),
        ("llama 3", "spaces"),
        ("ns/ m", "spaces"),
        ("m\t:t", "spaces"),
        ("m\n", None),  # trailing newline is stripped: valid
        ("m\x00", "control"),
        ("\x00", "control"),
        ("ns/m\x00:t", "control"),
        ("m\u2028x", "spaces"),
        ("ns\\m", "backslash"),
        ("..\\..\\m", "backslash"),
        ("h\\n/m", "backslash"),
        ("llama3@sha256:" + "a" * 64, "digest"),
        ("ns/m:t@sha256:" + "0" * 64, "digest"),
        ("@sha256:" + "0" * 64, "digest"),
        ("a/b/c/d", "too many"),
        ("h/n/m/x:t", "too many"),
        ("../../../../etc/passwd", "too many"),
        ("a/b/c/d/e/f/g/h", "too many"),
        ("https://h/n/m/x", "too many"),
        ("/m", "empty"),
        ("m/", "empty"),
        ("ns//m", "empty"),
        ("//m", "empty"),
        ("h//m", "empty"),
        ("/", "empty"),
        ("//", "empty"),
        ("///", "too many"),
        ("h/n/", "empty"),
        ("m:", "empty"),
        ("ns/m:", "empty"),
        (":", "empty"),
        (":t", "empty"),
        ("/:t", "empty"),
        ("..", "model"),
        (".", "model"),
        ("../m", "namespace"),
        ("./m", "namespace"),
        ("../../m", "host"),
        ("h/../m", "namespace"),
        ("h/n/..", "model"),
        ("h/n/..:t", "model"),
        ("m:..", "tag"),
        ("~/m", "namespace"),
    ],
    ids=short_id,
)
def test_malformed_rejected(text: str, needle: str | None) -> None:
    if needle is None:
        assert is_valid_model_name(text)
        return
    message = error_of(text)
    assert_one_sentence(message)
    assert needle in message.lower(), message
    assert not is_valid_model_name(text)
    assert oracle_parse(text) is None


def test_invalid_name_error_is_a_value_error() -> None:
    with pytest.raises(ValueError):
        parse_model_name("a/b/c/d")
    assert issubclass(InvalidNameError, EcsModelsError)


@pytest.mark.parametrize("value", [None, 3, b"llama3", ["llama3"]])
def test_non_text_rejected(value: object) -> None:
    with pytest.raises(InvalidNameError) as info:
        parse_model_name(cast(Any, value))
    assert_one_sentence(str(info.value))
    assert not is_valid_model_name(cast(Any, value))


def test_error_messages_are_bounded_for_huge_input() -> None:
    for text in (
        "a" * 100_000,
        "a/" * 50_000,
        "a " * 50_000,
        "\\" * 100_000,
        "m:" + "t" * 100_000,
        "h" * 100_000 + "/n/m",
        "x" * 100_000 + "://h/n/m",
        "m" + "\x01" * 79,
        "h" + "\U0010ffff" * 349 + "/n/m",
    ):
        assert_one_sentence(error_of(text))


# --------------------------------------------------------------------------------------------
# Property tests
# --------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def models_root(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    root = tmp_path_factory.mktemp("models").resolve()
    (root / "manifests").mkdir()
    yield root


_HOSTILE_FRAGMENTS = [
    "/", "//", "\\", "..", ".", "../", "..\\", "\x00", ":", "::", "@", "://", "http://",
    "https://", "file://", "~", "%2e%2e", "%2f", "\u2024", "\uff0e", "\u2215", "\uff0f", " ",
    "\n", "\t", "C:", "c:\\", "sha256:", "registry.ollama.ai", "library", "latest", "hf.co",
    "llama3", "-", "_", "é", "\U0001f999", "\u202e", "\ufeff", "NUL", "con", "aux",
    ":local", ":cloud", "-cloud", ":LOCAL", "local", "ftp://", "x://",
]  # fmt: skip

# Segments that look like path components, joined by "/" with an optional ":tag": the shape
# most likely to smuggle "..", "." or an absolute path into one of the four directory parts.
_SEGMENTS = st.one_of(
    st.sampled_from(["", ".", "..", "...", ".a", "a.", "a..", "..a", "~", "a:1", ":", "_", "-a"]),
    st.text(alphabet="._-:aZ9", max_size=6),
    st.text(max_size=6),
)
path_like_text = st.builds(
    lambda scheme, segments, tag: scheme + "/".join(segments) + tag,
    st.sampled_from(["", "", "http://", "https://", "/", "./", "../"]),
    st.lists(_SEGMENTS, min_size=1, max_size=5),
    st.one_of(st.just(""), st.builds(":{}".format, _SEGMENTS)),
)

hostile_text = st.one_of(
    path_like_text,
    st.text(),
    st.text(alphabet=st.sampled_from(list("/\\.:@_-aZ09\x00 ")), max_size=60),
    st.lists(st.one_of(st.sampled_from(_HOSTILE_FRAGMENTS), st.text(max_size=8)), max_size=16).map(
        "".join
    ),
    st.builds(
        lambda unit, count: unit * count,
        st.sampled_from(["a", "a/", "../", "a.", ":", "/", "\\", "h" * 7 + ".", "é"]),
        st.integers(0, 2_000),
    ),
    st.text(min_size=200, max_size=3_000),
)


def check_manifest_path(root: Path, parsed: ModelName) -> None:
    manifests = root / "manifests"
    parts = parsed.path_parts
    assert len(parts) == 4
    for part in parts:
        assert isinstance(part, str) and part
        assert part not in (".", "..")
        assert "/" not in part and "\\" not in part and "\x00" not in part
        assert os.sep not in part and (os.altsep is None or os.altsep not in part)
    path = Path(root, "manifests", *parts)
    normalized = Path(os.path.normpath(path))
    resolved = path.resolve()
    for candidate in (normalized, resolved):
        assert candidate.is_relative_to(manifests), candidate
        assert candidate != manifests
        assert candidate.relative_to(manifests).parts == parts
        assert len(candidate.relative_to(manifests).parts) == 4
    assert os.path.commonpath([str(normalized), str(manifests)]) == str(manifests)


@settings(
    max_examples=1_500,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(text=hostile_text)
@example(text="../../../../etc/passwd")
@example(text="..")
@example(text="../x")
@example(text="../../x")
@example(text="h/../x")
@example(text="../n/m")
@example(text="./n/m:t")
@example(text="..:1/n/m")
@example(text="https://../n/m")
@example(text=".../n/m")
@example(text="h/n/.")
@example(text="h/n/m:.")
@example(text="/etc/passwd")
@example(text="..\\..\\x")
@example(text="x\x00/../y")
@example(text="https://../../x")
@example(text="http://h/n/..:t")
@example(text="h/n/m:..")
@example(text="a" * 100_000)
def test_security_property_manifest_path_stays_inside(models_root: Path, text: str) -> None:
    try:
        parsed = parse_model_name(text)
    except InvalidNameError as error:
        assert_one_sentence(str(error))
        assert oracle_parse(text) is None, text
        return
    # Any other exception propagates and fails the test.
    check_manifest_path(models_root, parsed)
    assert oracle_parse(text) == parsed.path_parts
    assert is_valid_model_name(text)


@st.composite
def grammar_part(draw: st.DrawFn, extra: str, limit: int) -> str:
    """A part per section 3: first a letter, digit or "_", then those or "-" plus `extra`."""
    size = draw(st.one_of(st.integers(1, 12), st.integers(1, limit), st.sampled_from([1, limit])))
    first = draw(st.sampled_from(_FIRST_CHARS))
    rest = draw(st.text(alphabet=_BASE_CHARS + extra, min_size=size - 1, max_size=size - 1))
    return first + rest


hosts = st.one_of(
    st.sampled_from([DEFAULT_HOST, "hf.co", "huggingface.co", "localhost:5000", "10.0.0.1:11434"]),
    grammar_part(".:", HOST_MAX),
)
namespaces = st.one_of(
    st.sampled_from([DEFAULT_NAMESPACE, "bartowski"]), grammar_part("", PART_MAX)
)
models = grammar_part(".", PART_MAX)
tags = st.one_of(st.sampled_from([DEFAULT_TAG, "Q4_K_M", "8b"]), grammar_part(".", PART_MAX))

valid_names = st.builds(ModelName, host=hosts, namespace=namespaces, model=models, tag=tags)


def _is_case_variant(value: str, default: str) -> bool:
    return value != default and value.lower() == default


# Names whose host and namespace are either exactly the defaults or plainly not them; for those
# the short display form must parse back to exactly the same name.
canonical_names = valid_names.filter(
    lambda n: (
        not _is_case_variant(n.host, DEFAULT_HOST)
        and not _is_case_variant(n.namespace, DEFAULT_NAMESPACE)
    )
)


@settings(max_examples=500, deadline=None)
@given(parsed=valid_names, scheme=st.sampled_from(["", "http://", "https://", "HTTPS://"]))
def test_round_trip_str(models_root: Path, parsed: ModelName, scheme: str) -> None:
    assert parse_model_name(str(parsed)) == parsed
    assert parse_model_name(str(parsed)).path_parts == parsed.path_parts
    assert parse_model_name(scheme + str(parsed)) == parsed
    assert is_valid_model_name(str(parsed))
    check_manifest_path(models_root, parse_model_name(str(parsed)))


@settings(max_examples=500, deadline=None)
@given(parsed=canonical_names)
def test_round_trip_display(parsed: ModelName) -> None:
    shown = parsed.display
    assert parse_model_name(shown) == parsed
    assert shown.endswith(f":{parsed.tag}")
    assert len(shown) <= len(str(parsed))
    if parsed.host == DEFAULT_HOST:
        assert parsed.host not in shown.split("/")[0:1]
        if parsed.namespace == DEFAULT_NAMESPACE:
            assert shown == f"{parsed.model}:{parsed.tag}"
        else:
            assert shown == f"{parsed.namespace}/{parsed.model}:{parsed.tag}"
    else:
        assert shown == str(parsed)


@settings(max_examples=200, deadline=None)
@given(
    parsed=valid_names,
    host_case=st.sampled_from(["Registry.Ollama.AI", "REGISTRY.OLLAMA.AI", DEFAULT_HOST]),
    ns_case=st.sampled_from(["Library", "LIBRARY", DEFAULT_NAMESPACE]),
)
def test_display_of_case_variant_defaults(parsed: ModelName, host_case: str, ns_case: str) -> None:
    # Ollama drops a default host/namespace whatever its case, so the display form parses back
    # to the same model under the canonical spelling: the same by case-insensitive lookup.
    variant = ModelName(host_case, ns_case, parsed.model, parsed.tag)
    back = parse_model_name(variant.display)
    assert variant.display == f"{parsed.model}:{parsed.tag}"
    assert back.matches(variant)
    assert back.path_parts == (DEFAULT_HOST, DEFAULT_NAMESPACE, parsed.model, parsed.tag)


@settings(max_examples=300, deadline=None)
@given(parsed=valid_names)
def test_matches_is_case_insensitive_for_any_valid_name(parsed: ModelName) -> None:
    swapped = parse_model_name(str(parsed).swapcase())
    assert swapped.matches(parsed)
    assert parsed.matches(swapped)
    assert swapped.match_key == parsed.match_key


@settings(max_examples=300, deadline=None)
@given(parsed=valid_names, tag=tags)
def test_with_tag_property(parsed: ModelName, tag: str) -> None:
    retagged = parsed.with_tag(tag)
    assert retagged.path_parts == (parsed.host, parsed.namespace, parsed.model, tag)
    assert parse_model_name(str(retagged)) == retagged


@settings(max_examples=300, deadline=None)
@given(parsed=valid_names, junk=st.sampled_from(["/", "\\", "\x00", " ", "@", "..", "/.."]))
def test_valid_name_with_injected_junk(models_root: Path, parsed: ModelName, junk: str) -> None:
    text = str(parsed)
    for index in range(0, len(text) + 1, max(1, len(text) // 7)):
        mutated = text[:index] + junk + text[index:]
        try:
            result = parse_model_name(mutated)
        except InvalidNameError as error:
            assert_one_sentence(str(error))
            continue
        check_manifest_path(models_root, result)
