"""Registry mirrors end to end: a real upstream docker-registry and a second one in pull-through
mode (`proxy: remoteurl:`) in front of it, each behind the byte-counting proxy."""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import json
import re
import socket
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pygame
import pytest
from panel_harness import PanelHarness
from support.faults import CuttingProxy, flip_byte
from support.hostile_registry import HostileRegistry, Reply
from support.model_builder import MIB, PushedModel, push_small_model
from support.registry_server import RegistryServer

from ecs_models.cli.main import main
from ecs_models.components.installation import ModelInstallationTask
from ecs_models.errors import EcsModelsError
from ecs_models.names import parse_model_name
from ecs_models.registry.client import RegistryClient
from ecs_models.registry.credentials import Credential, CredentialStore
from ecs_models.registry.mirror_probe import PROBE_TIMEOUT_S
from ecs_models.registry.mirrors import (
    MirrorList,
    MirrorTable,
    parse_mirror_url,
    parse_mirrors_env,
)
from ecs_models.store.model_store import ModelStore
from ecs_models.transfer.progress import ProgressEvent, PullProgress, PullState
from ecs_models.transfer.pull import PullOptions, pull_model
from ecs_models.ui.remote.mirrors import NO_MIRRORS
from ecs_models.ui.remote.view import RemoteView

FAST = PullOptions(
    part_size_min=1 * MIB,
    retry_base_delay=0.05,
    retry_max_delay=0.2,
    stall_timeout=2.0,
    mirror_timeout=1.0,
)


@dataclass
class Team:
    """An upstream and its pull-through cache, each reached through a counting proxy."""

    upstream: RegistryServer
    upstream_link: CuttingProxy
    mirror: RegistryServer
    mirror_link: CuttingProxy
    pushed: PushedModel

    @property
    def name(self) -> str:
        """The canonical name: the upstream's host as the machines know it."""
        return f"{self.upstream_link.host}/{self.pushed.repository}:{self.pushed.tag}"

    def options(self, *mirror_urls: str, **changes: Any) -> PullOptions:
        urls = mirror_urls or (self.mirror_link.url,)
        table = MirrorTable({self.upstream_link.host: [parse_mirror_url(u) for u in urls]})
        return dataclasses.replace(FAST, mirrors=table, **changes)

    def wait_until_cached(self, timeout: float = 20.0) -> None:
        """The cache stores what it relayed on its own goroutine, after the client is served."""
        deadline = time.monotonic() + timeout
        for blob in self.pushed.blobs:
            path = self.mirror.blob_data_path(blob.digest)
            while not (path.exists() and path.stat().st_size == blob.size):
                assert time.monotonic() < deadline, f"the cache never stored {blob.digest}"
                time.sleep(0.05)

    def upstream_blob_requests(self, *, ours: bool = False) -> list[str]:
        """Blob requests the upstream saw: from anyone (the cache fetching too), or `ours`."""
        return [
            r.target
            for r in self.upstream_link.requests
            if "/blobs/" in r.target
            and (not ours or r.headers.get("user-agent", "").startswith("ecs-models/"))
        ]


@pytest.fixture
def team(fresh_registry: RegistryServer, unique_repo: str) -> Iterator[Team]:
    pushed = push_small_model(fresh_registry, unique_repo, "v1", gguf_size=6 * MIB, seed=14)
    with (
        CuttingProxy(fresh_registry) as upstream_link,
        RegistryServer(proxy_remote=upstream_link.url) as mirror,
        CuttingProxy(mirror) as mirror_link,
    ):
        yield Team(fresh_registry, upstream_link, mirror, mirror_link, pushed)


def pull(team: Team, models: Path, options: PullOptions, **kwargs: Any) -> list[ProgressEvent]:
    events: list[ProgressEvent] = []
    progress = PullProgress(team.name, listener=events.append)
    pull_model(team.name, ModelStore(models), progress=progress, options=options, **kwargs)
    return events


def assert_canonical(team: Team, models: Path) -> None:
    """Installed under the upstream's name with its exact manifest, every blob verified."""
    store = ModelStore(models)
    namespace, model = team.pushed.repository.split("/")
    manifest = models / "manifests" / team.upstream_link.host / namespace / model / "v1"
    assert manifest.read_bytes() == team.pushed.manifest_bytes
    assert [m.display for m in store.list_models()] == [team.name]
    for blob in team.pushed.blobs:
        data = store.blob_path(blob.digest).read_bytes()
        assert "sha256:" + hashlib.sha256(data).hexdigest() == blob.digest
    assert not any(p for p in (models / "manifests").rglob("*") if team.mirror_link.host in str(p))


def sources_of(events: list[ProgressEvent], digest: str) -> set[str | None]:
    return {e.source for e in events if e.digest == digest}


def test_second_machine_pulls_every_blob_from_the_warm_cache(team: Team, tmp_path: Path) -> None:
    first = pull(team, tmp_path / "a", team.options())
    assert_canonical(team, tmp_path / "a")
    label = team.mirror_link.host
    for blob in team.pushed.blobs:
        assert sources_of(first, blob.digest) == {label}
    assert any("/blobs/" in r.target for r in team.mirror_link.requests)
    team.wait_until_cached()
    team.upstream_link.reset_counters()
    team.mirror_link.reset_counters()

    second = pull(team, tmp_path / "b", team.options())

    assert_canonical(team, tmp_path / "b")
    assert team.upstream_blob_requests() == []
    # The upstream was only asked what the tag names (HEADs, by us and by the cache checking
    # its copy is current) and pinged by the cache: no body of any size.
    asked = {(r.method, "/manifests/" in r.target) for r in team.upstream_link.requests}
    assert asked <= {("HEAD", True), ("GET", False)}
    assert [r.target for r in team.upstream_link.requests if r.method == "GET"] in ([], ["/v2/"])
    assert team.upstream_link.bytes_to_client < 16 * 1024
    assert team.mirror_link.bytes_to_client >= team.pushed.total_size
    assert all(e.source == label for e in second if e.digest is not None)
    # Pulled again where every blob is present: no blob is said to come from anywhere.
    again = pull(team, tmp_path / "a", team.options())
    assert [e.source for e in again if e.digest is not None] == [None] * len(team.pushed.blobs)


@pytest.mark.parametrize("how", ["refused", "failing"])
def test_pull_falls_back_to_the_upstream_when_the_cache_is_down(
    team: Team, tmp_path: Path, how: str
) -> None:
    url = team.mirror_link.url
    team.mirror.stop()
    if how == "refused":
        team.mirror_link.close()  # nothing listens there any more

    events = pull(team, tmp_path / "a", team.options(url))

    assert_canonical(team, tmp_path / "a")
    assert len(team.upstream_blob_requests(ours=True)) >= len(team.pushed.blobs)
    upstream = team.upstream_link.host
    for blob in team.pushed.blobs:
        assert sources_of(events, blob.digest) == {upstream}
    notes = [e.status for e in events if e.digest is None and e.source == upstream]
    assert any(n.startswith(f"{team.mirror_link.host} failed (") for n in notes), notes


def test_a_tampered_blob_in_the_cache_is_refused_and_the_upstream_serves_it(
    team: Team, tmp_path: Path
) -> None:
    pull(team, tmp_path / "a", team.options())
    team.wait_until_cached()
    gguf = team.pushed.layer("model")
    flip_byte(team.mirror.blob_data_path(gguf.digest))
    team.upstream_link.reset_counters()

    events = pull(team, tmp_path / "b", team.options())

    assert_canonical(team, tmp_path / "b")
    assert [t for t in team.upstream_blob_requests() if gguf.digest not in t] == []
    assert team.upstream_blob_requests(ours=True), "the upstream served the damaged blob"
    assert sources_of(events, gguf.digest) == {team.mirror_link.host, team.upstream_link.host}
    for blob in team.pushed.blobs:
        if blob.digest != gguf.digest:
            assert sources_of(events, blob.digest) == {team.mirror_link.host}
    assert any("does not match its sha256 digest" in e.status for e in events)
    assert not [p for p in (tmp_path / "b" / "blobs").iterdir() if "partial" in p.name]


def test_a_cache_never_answering_hands_over_after_the_mirror_timeout(
    team: Team, tmp_path: Path
) -> None:
    # A socket that accepts connections (the kernel's backlog) and never says a word.
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen(16)
        url = f"http://127.0.0.1:{silent.getsockname()[1]}"

        events = pull(team, tmp_path / "a", team.options(url, team.mirror_link.url))

    assert_canonical(team, tmp_path / "a")
    # The silent one is passed over for the manifest, so the next mirror serves everything.
    assert team.upstream_blob_requests(ours=True) == []
    for blob in team.pushed.blobs:
        assert sources_of(events, blob.digest) == {team.mirror_link.host}
    assert any(e.status.startswith(f"{url.removeprefix('http://')} failed") for e in events)


def test_a_stale_cache_copy_of_a_tag_is_not_installed(
    team: Team, tmp_path: Path, registry: RegistryServer
) -> None:
    # A plain registry holding an older model under the same tag stands for a stale mirror.
    stale = push_small_model(registry, team.pushed.repository, "v1", gguf_size=1 * MIB, seed=3)
    assert stale.manifest_digest != team.pushed.manifest_digest

    events = pull(team, tmp_path / "a", team.options(registry.url))

    assert_canonical(team, tmp_path / "a")
    assert any(
        e.status.startswith(f"{registry.host} has no copy of the manifest") for e in events
    ), "the mirror is asked for the upstream's digest, which it lacks"


def test_with_the_upstream_unreachable_the_mirror_copy_of_the_tag_is_used(
    team: Team, tmp_path: Path
) -> None:
    # Air-gapped: the machines cannot reach the upstream at all; the cache has the model.
    pull(team, tmp_path / "a", team.options())
    team.wait_until_cached()
    team.upstream_link.close()
    team.upstream.stop()

    pull(team, tmp_path / "b", team.options())

    assert_canonical(team, tmp_path / "b")


def test_a_mirror_under_a_project_path_is_asked_under_that_prefix(
    team: Team, registry: RegistryServer, tmp_path: Path
) -> None:
    # Harbor's proxy-cache project: https://harbor.corp/v2/<project>/<namespace>/<model>.
    copy = push_small_model(
        registry, f"proj/{team.pushed.repository}", "v1", gguf_size=6 * MIB, seed=14
    )
    assert copy.manifest_digest == team.pushed.manifest_digest
    team.upstream_link.reset_counters()

    events = pull(team, tmp_path / "a", team.options(f"{registry.url}/v2/proj"))

    assert_canonical(team, tmp_path / "a")
    assert team.upstream_blob_requests() == []
    assert {e.source for e in events if e.digest} == {f"{registry.host}/proj"}


def test_the_upstream_credentials_never_go_to_a_mirror(team: Team, tmp_path: Path) -> None:
    with HostileRegistry() as mirror:
        # The mirror asks everyone for a password.
        challenge = Reply(status=401, headers={"WWW-Authenticate": 'Basic realm="mirror"'})
        for reference in ("v1", team.pushed.manifest_digest):
            mirror.serve_manifest(challenge, team.pushed.repository, reference)
        secret = CredentialStore({team.upstream_link.host: Credential("alice", "s3cret")})
        with RegistryClient(credentials=secret) as client:
            events = pull(
                team, tmp_path / "a", team.options(f"http://{mirror.host}"), registry=client
            )
        assert mirror.requests, "the mirror was asked first"
        assert not any("authorization" in {k.lower() for k in r.headers} for r in mirror.requests)
    assert_canonical(team, tmp_path / "a")
    assert any("asks for a user name and password" in e.status for e in events)


def test_no_mirror_asks_only_the_upstream(team: Team, tmp_path: Path) -> None:
    events = pull(team, tmp_path / "a", dataclasses.replace(FAST, mirrors=MirrorTable()))

    assert_canonical(team, tmp_path / "a")
    assert team.mirror_link.requests == []
    assert all(e.source is None for e in events)


# -- the configuration -------------------------------------------------------------------------


def test_mirror_urls_map_onto_registry_paths() -> None:
    name = parse_model_name("llama3:8b")
    plain = parse_mirror_url("http://Cache.LAN:5000/")
    assert plain.url == "http://cache.lan:5000"
    assert plain.name_for(name).repository == "library/llama3"
    harbor = parse_mirror_url("https://harbor.corp/v2/ollama-proxy")
    assert harbor.name_for(name).repository == "ollama-proxy/library/llama3"
    assert harbor.label == "harbor.corp/ollama-proxy"
    assert parse_mirror_url("127.0.0.1:5000").scheme == "http"
    assert parse_mirror_url("cache.lan:5000").scheme == "https"
    for bad in ("ftp://x", "http://u:p@cache.lan", "https://cache.lan/registry", "", "a b"):
        with pytest.raises(EcsModelsError):
            parse_mirror_url(bad)


def test_mirrors_env_lists_mirrors_per_upstream_in_order() -> None:
    table = parse_mirrors_env(
        "registry.ollama.ai=http://cache.lan:5000,https://harbor.corp/v2/ollama-proxy;"
        "hf.co=http://10.0.0.2:5000"
    )
    assert [m.url for m in table["registry.ollama.ai"]] == [
        "http://cache.lan:5000",
        "https://harbor.corp/v2/ollama-proxy",
    ]
    assert [m.host for m in table["hf.co"]] == ["10.0.0.2:5000"]
    with pytest.raises(EcsModelsError, match="UPSTREAM=URL"):
        parse_mirrors_env("registry.ollama.ai")


def test_mirror_file_env_wins_per_upstream(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path))
    mirrors = MirrorList()
    assert mirrors.path == tmp_path / "ecs_models" / "mirrors.json"
    mirrors.add("registry.ollama.ai", "http://cache.lan:5000")
    mirrors.add("https://hf.co/", "http://10.0.0.2:5000")
    with pytest.raises(EcsModelsError, match="already"):
        mirrors.add("registry.ollama.ai", "http://cache.lan:5000/")
    monkeypatch.setenv("ECS_MODELS_MIRRORS", "hf.co=http://10.0.0.3:5000")
    table = MirrorTable.from_environment()
    assert [m.url for m in table.for_host("REGISTRY.ollama.ai")] == ["http://cache.lan:5000"]
    assert [m.url for m in table.for_host("hf.co")] == ["http://10.0.0.3:5000"]
    assert mirrors.remove("registry.ollama.ai") == ["http://cache.lan:5000"]
    with pytest.raises(EcsModelsError, match="no mirrors"):
        mirrors.remove("registry.ollama.ai")
    mirrors.path.write_text("[1, 2]")
    with pytest.raises(EcsModelsError, match="JSON object"):
        MirrorTable.from_environment()


# -- the command line ------------------------------------------------------------------------


def test_pull_command_says_where_bytes_came_from_and_list_keeps_ollamas_shape(
    team: Team,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    monkeypatch.setenv("ECS_MODELS_MIRRORS", f"{team.upstream_link.host}={team.mirror_link.url}")
    direct, cached = str(tmp_path / "direct"), str(tmp_path / "cached")

    assert main(["--models", direct, "pull", team.name, "--json", "--no-mirror"]) == 0
    assert team.mirror_link.requests == []
    assert all("source" not in json.loads(line) for line in capsys.readouterr().out.splitlines())
    assert main(["--models", cached, "pull", team.name, "--json"]) == 0
    events = [json.loads(line) for line in capsys.readouterr().out.splitlines()]

    assert {e["source"] for e in events if "digest" in e} == {team.mirror_link.host}
    assert events[-1] == {"status": "success"}
    listings = []
    for models in (direct, cached):
        assert main(["--models", models, "list", "--json"]) == 0
        listings.append(json.loads(capsys.readouterr().out))
    for doc in listings:  # modified_at differs; everything else is the same, key for key
        for entry in doc["models"]:
            entry.pop("modified_at")
    assert listings[0] == listings[1]
    assert [m["name"] for m in listings[1]["models"]] == [team.name]
    assert_canonical(team, Path(cached))

    assert main(["--models", str(tmp_path / "text"), "pull", team.name]) == 0
    printed = capsys.readouterr()
    layers = [
        line for line in printed.err.splitlines() if line.startswith("pulling ") and "%" in line
    ]
    assert layers and all(line.endswith(f"  from {team.mirror_link.host}") for line in layers)
    assert printed.out.splitlines()[-1] == "success"


def test_mirrors_commands_edit_the_file_and_test_each_mirror(
    team: Team,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path))
    monkeypatch.delenv("ECS_MODELS_MIRRORS", raising=False)
    upstream = team.upstream_link.host
    dead = CuttingProxy(team.mirror)  # bound, never started: its port refuses connections
    dead.close()

    assert main(["mirrors", "add", upstream, team.mirror_link.url]) == 0
    assert main(["mirrors", "add", upstream, dead.url]) == 0
    assert main(["mirrors", "add", upstream, "https://harbor.corp/registry"]) == 1
    assert "not /v2/<project>" in capsys.readouterr().err
    saved = json.loads((tmp_path / "ecs_models" / "mirrors.json").read_text())
    assert saved == {upstream: [team.mirror_link.url, dead.url]}

    assert main(["mirrors", "test", "--json"]) == 1  # one of them does not answer
    probes = json.loads(capsys.readouterr().out)["mirrors"]
    assert [p["answered"] for p in probes] == [True, False]
    assert probes[0]["milliseconds"] > 0 and probes[0]["status"] == 200
    assert "refused" in probes[1]["error"]

    assert main(["mirrors", "remove", upstream, dead.url]) == 0
    assert main(["mirrors", "test", upstream]) == 0
    out = capsys.readouterr().out
    assert f"{team.mirror_link.url}  answers in " in out
    assert main(["mirrors", "--json"]) == 0
    listed = json.loads(capsys.readouterr().out)["mirrors"]
    assert listed == [{"upstream": upstream, "url": team.mirror_link.url, "from": "file"}]
    assert main(["mirrors", "list"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split() == ["UPSTREAM", "MIRROR", "FROM"]
    assert lines[1].split() == [upstream, team.mirror_link.url, "file"]
    assert main(["mirrors", "rm", upstream]) == 0
    assert main(["mirrors", "list"]) == 0
    out = capsys.readouterr().out
    assert out.startswith(f"removed {team.mirror_link.url} ") and "\nno mirrors: add one" in out
    assert json.loads((tmp_path / "ecs_models" / "mirrors.json").read_text()) == {}


# -- the window ------------------------------------------------------------------------------


def test_remote_tab_edits_and_tests_the_mirrors_and_the_task_row_names_the_source(
    team: Team,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    monkeypatch.delenv("ECS_MODELS_MIRRORS", raising=False)
    upstream = team.upstream_link.host
    saved = tmp_path / "config" / "ecs_models" / "mirrors.json"
    panel = PanelHarness(tmp_path / "models", upstream)
    # A mirror that accepts connections (the kernel's backlog) and never says a word.
    silent = socket.socket()
    silent.bind(("127.0.0.1", 0))
    silent.listen(8)
    silent_url = f"http://127.0.0.1:{silent.getsockname()[1]}"
    try:
        panel.click_tab("Remote")
        (area,) = [a for a in panel.plugin.areas if a.title == "Remote"]
        view = area.view
        assert isinstance(view, RemoteView)
        section = view.mirrors

        def rows() -> list[str]:
            return [item["text"] for item in section.rows_list.item_list]

        def listed(count: int) -> bool:
            return NO_MIRRORS not in rows() and len(rows()) == count

        panel.run_until(lambda: rows() == [NO_MIRRORS], timeout=5)
        for count, url in enumerate((team.mirror_link.url, silent_url), start=1):
            panel.click(section.entry)
            for char in f"{upstream}={url}":
                pygame.event.post(pygame.event.Event(pygame.TEXTINPUT, text=char))
            panel.settle(2)
            panel.click(section.add_button)
            panel.run_until(functools.partial(listed, count), timeout=5)
        assert json.loads(saved.read_text()) == {upstream: [team.mirror_link.url, silent_url]}
        assert rows() == [
            f"{team.mirror_link.url}  for {upstream}",
            f"{silent_url}  for {upstream}",
        ]

        # One click asks both at once on a worker: frames go on while the silent one is awaited.
        panel.frame_times.clear()
        panel.click(section.test_button)
        assert rows()[1].endswith("testing…")
        panel.run_until(lambda: "no answer" in rows()[1], timeout=10)
        assert re.search(r"  ·  answers in \d+ ms$", rows()[0]), rows()
        assert rows()[1].endswith("  ·  no answer")
        assert len(panel.frame_times) > 50 and max(panel.frame_times) < 0.1
        assert view.result_label.text == (
            f"1 of 2 mirrors answer; {silent_url}: nothing within {PROBE_TIMEOUT_S:g} s."
        )

        panel.click_item(section.rows_list, silent_url)
        panel.click(section.remove_button)
        panel.run_until(lambda: len(rows()) == 1, timeout=5)
        assert json.loads(saved.read_text()) == {upstream: [team.mirror_link.url]}

        # A pull from the Models tab: its row's caption says where the bytes come from.
        team.mirror_link.set_rate(3 * MIB)
        panel.click_tab("Models")
        panel.type_text(team.name)
        panel.press_enter()
        captions: set[str] = set()

        def installed() -> bool:
            captions.update(row.bar.caption for row in panel.view.downloads.rows)
            tasks = [t for _, t in panel.query(ModelInstallationTask)]
            return bool(tasks) and tasks[0].state is PullState.DONE

        panel.run_until(installed, timeout=30)
        assert any(c.endswith(f" from {team.mirror_link.host}") for c in captions), captions
    finally:
        silent.close()
        panel.close()
    assert_canonical(team, tmp_path / "models")
