"""A registry may be an attacker: each attack through the real `pull` command line.

The hostile host is a real HTTP server (tests/support/hostile_registry.py). Every refusal must
be one `error:` line naming the limit, a non-zero exit, no manifest, no blob and no partial in
the models directory, and nothing written anywhere else.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from support.hostile_registry import HostileRegistry, Reply, json_reply
from support.model_builder import MIB, BuiltModel, build_model, bytes_layer, text_layer
from test_cli import assert_one_error_line, json_lines, run_cli

from ecs_models.errors import RegistryError
from ecs_models.names import parse_model_name
from ecs_models.registry.client import RegistryClient
from ecs_models.store.model_store import ModelStore
from ecs_models.transfer.pull import pull_model

OCI_INDEX = "application/vnd.oci.image.index.v1+json"


@pytest.fixture
def hostile() -> Iterator[HostileRegistry]:
    with HostileRegistry() as server:
        yield server


@pytest.fixture(scope="module")
def model() -> BuiltModel:
    """A small but real Ollama model (GGUF-looking weights and a template)."""
    weights = b"GGUF" + bytes(range(256)) * 64
    return build_model([bytes_layer("model", weights), text_layer("template", "{{ .Prompt }}")])


def pull(server: HostileRegistry, tmp_path: Path, *, name: str | None = None) -> Any:
    cwd = tmp_path / "cwd"
    cwd.mkdir(exist_ok=True)
    return run_cli("pull", name or server.name(), "--json", models=tmp_path / "models", cwd=cwd)


def refused(result: subprocess.CompletedProcess[str], tmp_path: Path, *words: str) -> str:
    """One error line holding `words`, the JSON stream ending in it, and nothing kept."""
    line = assert_one_error_line(result)
    for word in words:
        assert word in line, line
    assert set(json_lines(result.stdout)[-1]) == {"error"}
    models = tmp_path / "models"
    assert not [p for p in (models / "manifests").rglob("*") if p.is_file()]
    assert not list((models / "blobs").iterdir())  # no blob, no partial a later pull would trust
    assert sorted(p.name for p in tmp_path.iterdir()) == ["cwd", "models"]
    assert not any((tmp_path / "cwd").iterdir())
    return line


def manifest_doc(model: BuiltModel) -> dict[str, Any]:
    return json.loads(model.manifest_bytes)  # type: ignore[no-any-return]


def encode(doc: Any) -> bytes:
    return json.dumps(doc).encode()


# -- the server itself is honest when told to be ---------------------------------------------


def test_an_honest_answer_from_the_same_server_installs(
    hostile: HostileRegistry, model: BuiltModel, tmp_path: Path
) -> None:
    hostile.serve_model(model)
    result = pull(hostile, tmp_path)
    assert result.returncode == 0, result.stderr
    installed = tmp_path / "models" / "manifests" / hostile.host / "evil" / "model" / "latest"
    assert installed.read_bytes() == model.manifest_bytes


def test_a_manifest_just_under_4_mib_is_still_accepted(
    hostile: HostileRegistry, model: BuiltModel, tmp_path: Path
) -> None:
    padded = model.manifest_bytes + b" " * (4 * MIB - len(model.manifest_bytes))
    hostile.serve_model(model, manifest=padded)
    result = pull(hostile, tmp_path)
    assert result.returncode == 0, result.stderr


# -- size ------------------------------------------------------------------------------------


def test_a_64_mb_manifest_with_its_length_declared_is_refused_unread(
    hostile: HostileRegistry, model: BuiltModel, tmp_path: Path
) -> None:
    filler = b" " * MIB
    hostile.serve_manifest(Reply(body=filler, repeat=64))
    line = refused(pull(hostile, tmp_path), tmp_path, "manifest larger than 4 MiB", "refusing")
    assert hostile.host in line
    # Refused on its Content-Length: only what the sockets buffer ever left the server.
    assert hostile.sent_to(hostile.manifest_path()) < 32 * MIB


def test_a_manifest_streamed_without_length_stops_being_read_at_4_mib(
    hostile: HostileRegistry, model: BuiltModel, tmp_path: Path
) -> None:
    hostile.serve_manifest(Reply(body=model.manifest_bytes + b" " * MIB, endless=True))
    refused(pull(hostile, tmp_path), tmp_path, "manifest larger than 4 MiB")
    assert hostile.sent_to(hostile.manifest_path()) < 32 * MIB


def test_a_manifest_one_byte_over_4_mib_is_refused(
    hostile: HostileRegistry, model: BuiltModel, tmp_path: Path
) -> None:
    padded = model.manifest_bytes + b" " * (4 * MIB + 1 - len(model.manifest_bytes))
    hostile.serve_model(model, manifest=padded)
    refused(pull(hostile, tmp_path), tmp_path, "manifest larger than 4 MiB")


def test_a_content_length_that_lies_short_cannot_smuggle_more(
    hostile: HostileRegistry, model: BuiltModel, tmp_path: Path
) -> None:
    # The declared length is small; the body goes on for 64 MiB. Only the declared bytes are
    # read, and they are not a manifest.
    hostile.serve_manifest(Reply(body=b"{" + b" " * MIB, repeat=64, length=100))
    refused(pull(hostile, tmp_path), tmp_path, "not valid JSON")


def test_a_compressed_manifest_we_did_not_ask_for_is_refused(
    hostile: HostileRegistry, model: BuiltModel, tmp_path: Path
) -> None:
    bomb = gzip.compress(model.manifest_bytes + b" " * (64 * MIB))  # 64 MiB in about 64 KiB
    hostile.serve_manifest(Reply(body=bomb, headers={"Content-Encoding": "gzip"}))
    refused(pull(hostile, tmp_path), tmp_path, "compressed with 'gzip'")
    assert hostile.requests[0].headers.get("Accept-Encoding") == "identity"


def test_a_config_blob_over_4_mib_is_refused(
    hostile: HostileRegistry, model: BuiltModel, tmp_path: Path
) -> None:
    doc = manifest_doc(model)
    doc["config"]["size"] = 5 * 1024 * MIB
    hostile.serve_manifest(encode(doc))
    refused(pull(hostile, tmp_path), tmp_path, "config blob of 5368709120 bytes", "4 MiB limit")


def test_more_than_10000_layers_are_refused(
    hostile: HostileRegistry, model: BuiltModel, tmp_path: Path
) -> None:
    doc = manifest_doc(model)
    template = doc["layers"][1]
    doc["layers"] = [
        {**template, "digest": "sha256:" + hashlib.sha256(str(i).encode()).hexdigest()}
        for i in range(10_001)
    ]
    raw = encode(doc)
    assert len(raw) < 4 * MIB  # the layer count is what is refused, not the size
    hostile.serve_manifest(raw)
    refused(pull(hostile, tmp_path), tmp_path, "10,001 layers", "limit of 10,000")


def test_a_blob_larger_than_the_disk_is_refused_before_any_download(
    hostile: HostileRegistry, model: BuiltModel, tmp_path: Path
) -> None:
    doc = manifest_doc(model)
    doc["layers"][0]["size"] = 10**15  # 1 PB
    hostile.serve_model(model, manifest=encode(doc))
    refused(pull(hostile, tmp_path), tmp_path, "Not enough disk space", "1.0 PB")
    assert not [r for r in hostile.requests if "/blobs/" in r.path]


@pytest.mark.parametrize(
    ("size", "words"),
    [(-1, "invalid size"), (1 << 63, "more than any file can hold"), (1.5, "invalid size")],
)
def test_absurd_blob_sizes_are_refused(
    hostile: HostileRegistry, model: BuiltModel, tmp_path: Path, size: Any, words: str
) -> None:
    doc = manifest_doc(model)
    doc["layers"][0]["size"] = size
    hostile.serve_manifest(encode(doc))
    refused(pull(hostile, tmp_path), tmp_path, words)


def test_one_blob_listed_twice_with_different_sizes_is_refused(
    hostile: HostileRegistry, model: BuiltModel, tmp_path: Path
) -> None:
    doc = manifest_doc(model)
    doc["layers"].append({**doc["layers"][0], "size": doc["layers"][0]["size"] + 1})
    hostile.serve_model(model, manifest=encode(doc))
    refused(pull(hostile, tmp_path), tmp_path, "twice with different sizes")


def test_the_same_layer_listed_twice_is_downloaded_once(
    hostile: HostileRegistry, model: BuiltModel, tmp_path: Path
) -> None:
    doc = manifest_doc(model)
    doc["layers"].append(doc["layers"][0])
    hostile.serve_model(model, manifest=encode(doc))
    result = pull(hostile, tmp_path)
    assert result.returncode == 0, result.stderr
    weights = f"/v2/evil/model/blobs/{model.layers[0].digest}"
    assert [r.method for r in hostile.requests if r.path == weights] == ["GET"]


# -- what the manifest is ----------------------------------------------------------------------


def test_an_image_index_is_refused_as_such(
    hostile: HostileRegistry, model: BuiltModel, tmp_path: Path
) -> None:
    child = {"mediaType": "application/vnd.oci.image.manifest.v1+json", "size": 10}
    child["digest"] = model.manifest_digest
    hostile.serve_manifest(
        encode({"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": [child]})
    )
    refused(pull(hostile, tmp_path), tmp_path, "is an index")


def test_a_container_image_is_not_a_model(
    hostile: HostileRegistry, model: BuiltModel, tmp_path: Path
) -> None:
    doc = manifest_doc(model)
    for layer in doc["layers"]:
        layer["mediaType"] = "application/vnd.docker.image.rootfs.diff.tar.gzip"
    hostile.serve_manifest(encode(doc))
    refused(pull(hostile, tmp_path), tmp_path, "no Ollama layer", "not an Ollama model")


def test_a_config_that_is_not_an_image_config_is_refused(
    hostile: HostileRegistry, model: BuiltModel, tmp_path: Path
) -> None:
    doc = manifest_doc(model)
    doc["config"]["mediaType"] = "application/vnd.cncf.helm.config.v1+json"
    hostile.serve_manifest(encode(doc))
    refused(pull(hostile, tmp_path), tmp_path, "helm", "not an image config")


def test_unknown_ollama_layer_types_are_kept_and_do_not_break_readers(
    hostile: HostileRegistry, tmp_path: Path
) -> None:
    future = build_model(
        [bytes_layer("model", b"GGUF" + b"\0" * 64), text_layer("hologram", "from the future")]
    )
    hostile.serve_model(future)
    assert pull(hostile, tmp_path).returncode == 0
    listing = run_cli("list", "--json", models=tmp_path / "models")
    assert listing.returncode == 0, listing.stderr
    shown = run_cli("show", hostile.name(), models=tmp_path / "models")
    assert shown.returncode == 0, shown.stderr


def test_a_media_type_carrying_terminal_escapes_is_refused(
    hostile: HostileRegistry, model: BuiltModel, tmp_path: Path
) -> None:
    doc = manifest_doc(model)
    doc["layers"][1]["mediaType"] = "application/vnd.ollama.image.\x1b[2Jtemplate"
    hostile.serve_manifest(encode(doc))
    line = refused(pull(hostile, tmp_path), tmp_path, "malformed media type")
    assert "\x1b" not in line


def test_a_key_repeated_in_another_case_is_refused(
    hostile: HostileRegistry, model: BuiltModel, tmp_path: Path
) -> None:
    # Go's decoder (Ollama's) takes the last of "layers"/"Layers"; Python's dict the exact key.
    raw = model.manifest_bytes[:-1] + b',"Layers":[]}'
    hostile.serve_model(model, manifest=raw)
    refused(pull(hostile, tmp_path), tmp_path, "repeats the key 'Layers'")


@pytest.mark.parametrize(
    ("body", "words"),
    [
        (b"[" * 100_000 + b"]" * 100_000, "not valid JSON"),
        (b'{"schemaVersion": 2, "size": ' + b"9" * 5000 + b"}", "not valid JSON"),
        ('{"schemaVersion":2}'.encode("utf-16"), "not valid JSON"),
        (b'{"schemaVersion":2,"mediaType":["x"]}', "media type is not a string"),
        (b"<html>Welcome to nginx</html>", "not valid JSON"),
    ],
    ids=["deep-nesting", "huge-integer", "utf-16", "list-media-type", "html"],
)
def test_malformed_manifests_are_one_error_line(
    hostile: HostileRegistry, tmp_path: Path, body: bytes, words: str
) -> None:
    hostile.serve_manifest(body)
    refused(pull(hostile, tmp_path), tmp_path, words)


def test_a_path_traversal_digest_is_refused(
    hostile: HostileRegistry, model: BuiltModel, tmp_path: Path
) -> None:
    doc = manifest_doc(model)
    doc["layers"][0]["digest"] = "sha256:../../../../cwd/pwned"
    hostile.serve_manifest(encode(doc))
    refused(pull(hostile, tmp_path), tmp_path, "is not a sha256 digest")


# -- digests ---------------------------------------------------------------------------------


def test_a_manifest_that_is_not_the_digest_announced_is_refused(
    hostile: HostileRegistry, model: BuiltModel, tmp_path: Path
) -> None:
    other = "sha256:" + hashlib.sha256(b"another manifest").hexdigest()
    hostile.serve_model(model)
    hostile.serve_manifest(
        Reply(body=model.manifest_bytes, headers={"Docker-Content-Digest": other})
    )
    refused(pull(hostile, tmp_path), tmp_path, "not the Docker-Content-Digest")


def test_a_blob_longer_than_declared_is_cut_at_its_size(
    hostile: HostileRegistry, model: BuiltModel, tmp_path: Path
) -> None:
    hostile.serve_model(model)
    weights = model.layers[0]
    path = f"/v2/evil/model/blobs/{weights.digest}"
    hostile.routes[path] = Reply(body=weights.read_bytes() + b"\0" * (8 * MIB))
    result = pull(hostile, tmp_path)
    assert result.returncode == 0, result.stderr
    stored = tmp_path / "models" / "blobs" / weights.file_name
    assert stored.stat().st_size == weights.size


# -- redirects -------------------------------------------------------------------------------


def test_a_redirect_loop_is_refused(
    hostile: HostileRegistry, model: BuiltModel, tmp_path: Path
) -> None:
    path = hostile.manifest_path()
    hostile.serve_manifest(Reply(status=302, headers={"Location": path}))
    refused(pull(hostile, tmp_path), tmp_path, "redirected more than 5 times")
    assert len([r for r in hostile.requests if r.path == path]) == 6


def test_a_redirect_to_a_file_url_is_refused(
    hostile: HostileRegistry, model: BuiltModel, tmp_path: Path
) -> None:
    hostile.serve_manifest(Reply(status=307, headers={"Location": "file:///etc/passwd"}))
    refused(pull(hostile, tmp_path), tmp_path, "redirected to 'file:///etc/passwd'")


# -- error bodies and authentication --------------------------------------------------------


def test_an_endless_error_body_is_not_read(
    hostile: HostileRegistry, model: BuiltModel, tmp_path: Path
) -> None:
    hostile.serve_manifest(Reply(status=404, body=b"x" * MIB, endless=True))
    refused(pull(hostile, tmp_path), tmp_path, "was not found")
    assert hostile.sent_to(hostile.manifest_path()) < 32 * MIB


def challenge(server: HostileRegistry, realm: str | None = None) -> Reply:
    realm = realm if realm is not None else f"http://{server.host}/token"
    value = f'Bearer realm="{realm}",service="evil",scope="repository:evil/model:pull"'
    return Reply(status=401, body=b"{}", headers={"WWW-Authenticate": value})


def test_an_endless_token_is_refused(
    hostile: HostileRegistry, model: BuiltModel, tmp_path: Path
) -> None:
    hostile.serve_manifest(challenge(hostile))
    hostile.routes["/token"] = Reply(body=b'{"token":"' + b"a" * MIB, endless=True)
    refused(pull(hostile, tmp_path), tmp_path, "token larger than 1 MiB")
    assert hostile.sent_to("/token") < 32 * MIB


@pytest.mark.parametrize(
    ("header", "words"),
    [
        ("", "unsupported authentication"),
        ("Bearer", "without a realm"),
        ("Bearer realm", "without a realm"),
        ('Bearer realm="http://[::1"', "is not an http(s) URL"),
        ('Bearer realm="file:///etc/passwd"', "is not an http(s) URL"),
        ('Bearer realm="/token"', "is not an http(s) URL"),
        ("Negotiate " + "A" * 60_000, "unsupported authentication"),
        ('Bearer realm="http://127.0.0.1:1/token"', "Could not reach the token service"),
    ],
    ids=["empty", "no-realm", "bare-realm", "bad-url", "file", "relative", "huge", "dead"],
)
def test_malformed_challenges_are_one_error_line(
    hostile: HostileRegistry, tmp_path: Path, header: str, words: str
) -> None:
    hostile.serve_manifest(Reply(status=401, headers={"WWW-Authenticate": header}))
    refused(pull(hostile, tmp_path), tmp_path, words)


def test_a_token_service_that_answers_nonsense_is_one_error_line(
    hostile: HostileRegistry, tmp_path: Path
) -> None:
    hostile.serve_manifest(challenge(hostile))
    hostile.routes["/token"] = json_reply({"token": {"nested": True}})
    refused(pull(hostile, tmp_path), tmp_path, "sent no token")


# -- time ------------------------------------------------------------------------------------
# These take the engine directly: the command line's 60 s body deadline is too long to wait.


def slow_pull(server: HostileRegistry, tmp_path: Path) -> str:
    store = ModelStore(tmp_path / "models")
    started = time.monotonic()
    with (
        RegistryClient(timeout=2.0, body_timeout=1.0, retries=0) as client,
        pytest.raises(RegistryError) as caught,
    ):
        pull_model(server.name(), store, registry=client)
    assert time.monotonic() - started < 10
    assert not [p for p in store.manifests_dir.rglob("*") if p.is_file()]
    assert not list(store.blobs_dir.iterdir())
    return str(caught.value)


def test_a_manifest_that_drips_forever_is_cut_at_the_deadline(
    hostile: HostileRegistry, model: BuiltModel, tmp_path: Path
) -> None:
    # One byte every 50 ms: each read is quick, so only a deadline for the whole body helps.
    hostile.serve_manifest(Reply(body=b" ", endless=True, drip=0.05))
    assert "took more than 1 s to send a manifest" in slow_pull(hostile, tmp_path)


def test_a_token_that_drips_forever_is_cut_at_the_deadline(
    hostile: HostileRegistry, model: BuiltModel, tmp_path: Path
) -> None:
    hostile.serve_manifest(challenge(hostile))
    hostile.routes["/token"] = Reply(body=b" ", endless=True, drip=0.05)
    assert "took more than 1 s to send a token" in slow_pull(hostile, tmp_path)


# -- listings ----------------------------------------------------------------------------------


@pytest.mark.parametrize("tags", [["v1"], []], ids=["same-page", "empty-page"])
def test_a_tag_list_that_links_back_to_itself_ends(
    hostile: HostileRegistry, tags: list[str]
) -> None:
    path = "/v2/evil/model/tags/list"
    link = f'<{path}?n=1000&last=v1>; rel="next"'
    hostile.routes[path] = json_reply({"tags": tags}, headers={"Link": link})
    with RegistryClient() as client:
        found = client.tags(parse_model_name(hostile.name()))
    assert found == tags
    assert len([r for r in hostile.requests if r.path == path]) <= 2
