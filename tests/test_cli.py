"""The command line run as real subprocesses against a real registry and a real models directory."""

from __future__ import annotations

import hashlib
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from support.faults import flip_byte
from support.model_builder import (
    MIB,
    SMALL_LICENSE,
    SMALL_TEMPLATE,
    PushedModel,
    cached_gguf,
    push_model,
    push_small_model,
    small_model_layers,
    text_layer,
)
from support.registry_server import RegistryServer

from ecs_models.cli.text import parse_rate
from ecs_models.formatting import human_duration, ollama_bytes

PYTHON = sys.executable


def run_cli(
    *args: str,
    models: Path | None = None,
    registry: RegistryServer | None = None,
    cwd: Path | None = None,
    env: dict[str, str] | None = None,
    timeout: float = 120.0,
) -> subprocess.CompletedProcess[str]:
    """`python -m ecs_models [--models M] [--registry HOST] ARGS...`, output captured."""
    argv = [PYTHON, "-m", "ecs_models"]
    if models is not None:
        argv += ["--models", str(models)]
    if registry is not None:
        argv += ["--registry", registry.host]
    environment = dict(os.environ)
    environment.pop("ECS_MODELS_DEBUG", None)
    environment.update(env or {})
    return subprocess.run(
        [*argv, *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd=cwd,
        env=environment,
        check=False,
    )


def short_name(model: PushedModel) -> str:
    """The name as a user types it: `--registry` supplies the host, `library/` is implied."""
    namespace, _, name = model.repository.partition("/")
    assert namespace == "library"
    return name


def display_name(model: PushedModel) -> str:
    return f"{model.host}/{model.repository}:{model.tag}"


def manifest_file(models: Path, model: PushedModel) -> Path:
    return models / "manifests" / model.host / model.repository / model.tag


def assert_one_error_line(result: subprocess.CompletedProcess[str], status: int = 1) -> str:
    assert result.returncode == status, (result.returncode, result.stdout, result.stderr)
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("error: "), lines[0]
    return lines[0]


def json_lines(text: str) -> list[dict[str, Any]]:
    objects = []
    for line in text.splitlines():
        value = json.loads(line)  # every line must be one JSON object: NDJSON
        assert isinstance(value, dict), line
        objects.append(value)
    return objects


def tree(root: Path) -> dict[str, tuple[int, int]]:
    """Every Ollama-visible path under root with size and mtime: proof nothing changed.

    The store's own .ecs-models bookkeeping (lock files a probe may create) is not compared.
    """
    found: dict[str, tuple[int, int]] = {}
    for path in sorted(root.rglob("*")):
        if path.relative_to(root).parts[0] == ".ecs-models":
            continue
        stat = path.lstat()
        found[str(path.relative_to(root))] = (
            stat.st_size if path.is_file() else 0,
            stat.st_mtime_ns,
        )
    return found


def sha256_file(path: Path) -> str:
    return "sha256:" + hashlib.sha256(path.read_bytes()).hexdigest()


def pull(models: Path, registry: RegistryServer, model: PushedModel) -> None:
    result = run_cli("pull", short_name(model), "--json", models=models, registry=registry)
    assert result.returncode == 0, result.stderr
    assert json_lines(result.stdout)[-1] == {"status": "success"}


def push_variant(registry: RegistryServer, repository: str, gguf: Path, label: str) -> PushedModel:
    """A small model on a shared GGUF plus a system layer of its own, so each has unique blobs."""
    layers = [*small_model_layers(gguf), text_layer("system", f"You are {label}.")]
    return push_model(registry, repository, "latest", layers)


# -- pull ------------------------------------------------------------------------------------


def test_pull_json_streams_ollama_statuses_and_installs_exact_layout(
    registry: RegistryServer, unique_repo: str, tmp_path: Path
) -> None:
    model = push_small_model(registry, unique_repo, "latest", gguf_size=2 * MIB, seed=11)
    models = tmp_path / "models"
    result = run_cli("pull", short_name(model), "--json", models=models, registry=registry)
    assert result.returncode == 0, result.stderr
    events = json_lines(result.stdout)

    assert events[0] == {"status": "pulling manifest"}
    assert events[-3:] == [
        {"status": "verifying sha256 digest"},
        {"status": "writing manifest"},
        {"status": "success"},
    ]
    layer_events = events[1:-3]
    assert layer_events, "no per-blob progress"
    first_seen: list[str] = []
    completed: dict[str, int] = {}
    for event in layer_events:
        digest = event["digest"]
        blob = model.blob(digest)
        assert event["status"] == f"pulling {blob.hex[:12]}"
        assert event["total"] == blob.size
        assert 0 <= event["completed"] <= blob.size
        assert event["completed"] >= completed.get(digest, 0), "progress went backwards"
        completed[digest] = event["completed"]
        if digest not in first_seen:
            first_seen.append(digest)
    # Ollama's order: the layers as the manifest lists them, then the config, each to 100 %.
    assert first_seen == [blob.digest for blob in model.blobs]
    assert completed == {blob.digest: blob.size for blob in model.blobs}

    assert manifest_file(models, model).read_bytes() == model.manifest_bytes
    blob_files = sorted(p.name for p in (models / "blobs").iterdir())
    assert blob_files == sorted(blob.file_name for blob in model.blobs)
    for blob in model.blobs:
        path = models / "blobs" / blob.file_name
        assert path.stat().st_size == blob.size
        assert sha256_file(path) == blob.digest
    assert sorted(p.name for p in models.iterdir() if not p.name.startswith(".")) == [
        "blobs",
        "manifests",
    ]

    listing = run_cli("list", models=models)
    assert listing.returncode == 0, listing.stderr
    row = listing.stdout.splitlines()[1].split()
    assert row[:2] == [display_name(model), model.id]


def test_pull_prints_ollama_progress_lines_and_honours_max_rate(
    registry: RegistryServer, unique_repo: str, tmp_path: Path
) -> None:
    model = push_small_model(registry, unique_repo, "latest", gguf_size=4 * MIB, seed=12)
    assert model.total_size >= 4 * MIB
    started = time.monotonic()
    result = run_cli(
        "pull", short_name(model), "--max-rate", "2M", models=tmp_path / "models", registry=registry
    )
    elapsed = time.monotonic() - started
    assert result.returncode == 0, result.stderr
    assert result.stdout == "success\n"
    # 4.2 MB at 2 MB/s is 2.1 s; the bucket's initial burst is a tenth of a second's worth.
    assert elapsed >= 1.5, f"the 2 MB/s limit was not applied: {elapsed:.2f} s"

    lines = result.stderr.splitlines()
    assert lines[0] == "pulling manifest"
    assert lines[-2:] == ["verifying sha256 digest", "writing manifest"]
    weights = model.layer("model")
    weight_lines = [x for x in lines if x.startswith(f"pulling {weights.hex[:12]}: ")]
    # Not a TTY: no \r redraws, a line at most once a second while it downloads, then 100 %.
    assert "\r" not in result.stderr
    assert 2 <= len(weight_lines) <= elapsed + 2, weight_lines
    assert "/s" in weight_lines[0] and "%" in weight_lines[0]
    assert weight_lines[-1].startswith(f"pulling {weights.hex[:12]}: 100% ")
    assert weight_lines[-1].endswith(" 4.2 MB")
    for blob in model.blobs:
        assert any(x.startswith(f"pulling {blob.hex[:12]}: 100% ") for x in lines), blob


def test_pull_of_missing_model_ends_stream_with_error(
    registry: RegistryServer, tmp_path: Path
) -> None:
    models = tmp_path / "models"
    result = run_cli("pull", "no-such-model-anywhere", "--json", models=models, registry=registry)
    line = assert_one_error_line(result)
    assert "not found" in line
    events = json_lines(result.stdout)
    assert events[0] == {"status": "pulling manifest"}
    assert set(events[-1]) == {"error"}
    assert "not found" in events[-1]["error"]
    assert not any((models / "manifests").rglob("*"))


def test_ctrl_c_cancels_the_pull_and_a_second_pull_resumes(
    registry: RegistryServer, unique_repo: str, tmp_path: Path
) -> None:
    model = push_small_model(registry, unique_repo, "latest", gguf_size=4 * MIB, seed=13)
    weights = model.layer("model")
    models = tmp_path / "models"
    partial = models / "blobs" / (weights.file_name + "-partial")
    argv = [PYTHON, "-m", "ecs_models", "--models", str(models), "--registry", registry.host]
    process = subprocess.Popen(
        [*argv, "pull", short_name(model), "--max-rate", "1M"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 30
        while not partial.exists() and time.monotonic() < deadline:
            time.sleep(0.05)
        time.sleep(1.0)  # some bytes in, most still to come at 1 MB/s
        process.send_signal(signal.SIGINT)
        stdout, stderr = process.communicate(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
    result = subprocess.CompletedProcess(process.args, process.returncode, stdout, stderr)
    # The progress lines stay; the interruption adds exactly one error line.
    errors = [x for x in stderr.splitlines() if x.startswith("error:")]
    assert result.returncode == 130, stderr
    assert "Traceback" not in stderr
    assert len(errors) == 1 and "cancelled" in errors[0], stderr
    assert stderr.splitlines()[-1] == errors[0], stderr
    assert not manifest_file(models, model).exists()
    state = json.loads((partial.parent / (partial.name + "-0")).read_text())
    assert 0 < state["Completed"] < weights.size

    resumed = run_cli("pull", short_name(model), "--json", models=models, registry=registry)
    assert resumed.returncode == 0, resumed.stderr
    events = json_lines(resumed.stdout)
    first = next(e for e in events if e.get("digest") == weights.digest)
    assert first["completed"] >= state["Completed"], "the partial download was not resumed"
    assert manifest_file(models, model).read_bytes() == model.manifest_bytes
    assert sha256_file(models / "blobs" / weights.file_name) == weights.digest


# -- list and show -----------------------------------------------------------------------------


def test_list_prints_ollama_table_and_api_tags_json(
    registry: RegistryServer, unique_repo: str, tmp_path: Path
) -> None:
    first = push_small_model(registry, unique_repo + "-a", "latest", seed=21)
    second = push_small_model(registry, unique_repo + "-b", "latest", seed=22)
    models = tmp_path / "models"
    pull(models, registry, first)
    pull(models, registry, second)

    result = run_cli("list", models=models)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0].split() == ["NAME", "ID", "SIZE", "MODIFIED"]
    rows = {line.split()[0]: line for line in lines[1:]}
    assert set(rows) == {display_name(first), display_name(second)}
    for model in (first, second):
        cells = rows[display_name(model)].split("    ")
        cells = [c.strip() for c in cells if c.strip()]
        assert cells == [
            display_name(model),
            model.id,
            ollama_bytes(model.total_size),
            cells[3],
        ]
        assert cells[3].endswith(" ago"), cells
    # Each column starts under its heading, as in `ollama list`.
    for heading, column in (("ID", 1), ("SIZE", 2), ("MODIFIED", 3)):
        start = lines[0].index(heading)
        for line in lines[1:]:
            assert line[start - 4 : start] == "    " and line[start] != " ", (heading, line)
            assert [c.strip() for c in line.split("    ") if c.strip()][column] in line[start:]

    as_json = run_cli("list", "--json", models=models)
    doc = json.loads(as_json.stdout)
    assert list(doc) == ["models"]
    entries = {entry["name"]: entry for entry in doc["models"]}
    for model in (first, second):
        entry = entries[display_name(model)]
        assert entry["model"] == display_name(model)
        assert entry["size"] == model.total_size
        assert entry["digest"] == model.manifest_digest.removeprefix("sha256:")
        assert entry["modified_at"]
        assert entry["details"] == {
            "parent_model": "",
            "format": "gguf",
            "family": model.config_dict["model_family"],
            "families": model.config_dict["model_families"],
            "parameter_size": model.config_dict["model_type"],
            "quantization_level": model.config_dict["file_type"],
            # From the GGUF header, as /api/tags adds them (the test GGUF's llama.* keys).
            "context_length": 2048,
            "embedding_length": 64,
        }
        assert entry["capabilities"] == ["completion"]

    # Global options go after the command too, and $OLLAMA_MODELS is the fallback.
    after = run_cli("list", "--json", "--models", str(models))
    assert json.loads(after.stdout) == doc
    from_env = run_cli("list", "--json", env={"OLLAMA_MODELS": f' "{models}" '})
    assert json.loads(from_env.stdout) == doc


def test_list_of_a_missing_directory_is_empty_and_creates_nothing(tmp_path: Path) -> None:
    models = tmp_path / "not-yet"
    result = run_cli("list", models=models)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["NAME", "ID", "SIZE", "MODIFIED"]
    assert json.loads(run_cli("list", "--json", models=models).stdout) == {"models": []}
    assert not models.exists()


def test_show_prints_ollamas_sections_and_api_show_json(
    registry: RegistryServer, unique_repo: str, tmp_path: Path
) -> None:
    model = push_small_model(registry, unique_repo, "latest", seed=31)
    models = tmp_path / "models"
    pull(models, registry, model)

    text = run_cli("show", short_name(model), models=models, registry=registry)
    assert text.returncode == 0, text.stderr
    out = text.stdout
    for section in ("  Model", "  Capabilities", "  Parameters", "  License"):
        assert section + "\n" in out
    assert "    architecture        llama\n" in out
    assert f"    quantization        {model.config_dict['file_type']}\n" in out
    assert '    stop           "<|end|>"\n' in out and "    temperature    0.7\n" in out
    assert "    MIT License\n" in out

    # Lookup is case-insensitive, as Ollama's.
    upper = run_cli("show", short_name(model).upper(), "--json", models=models, registry=registry)
    assert upper.returncode == 0, upper.stderr
    doc = json.loads(upper.stdout)
    assert doc["details"]["quantization_level"] == model.config_dict["file_type"]
    assert doc["details"]["parameter_size"] == model.config_dict["model_type"]
    assert doc["parameters"].splitlines()[-1] == "temperature                    0.7"
    assert doc["license"] == SMALL_LICENSE
    assert doc["template"] == SMALL_TEMPLATE
    assert doc["capabilities"] == ["completion"]
    assert doc["model_info"]["general.architecture"] == "llama"

    missing = run_cli("show", "not-installed", models=models, registry=registry)
    assert "not installed" in assert_one_error_line(missing)


# -- rm and prune ------------------------------------------------------------------------------


def test_rm_frees_unshared_blobs_and_keeps_shared_ones(
    registry: RegistryServer, unique_repo: str, tmp_path: Path
) -> None:
    gguf = cached_gguf(1 * MIB, seed=41)
    first = push_variant(registry, unique_repo + "-a", gguf, "first")
    second = push_variant(registry, unique_repo + "-b", gguf, "second")
    shared = {b.digest for b in first.blobs} & {b.digest for b in second.blobs}
    assert first.layer("model").digest in shared
    only_first = [b for b in first.blobs if b.digest not in shared]
    assert only_first  # the system layer and the config
    models = tmp_path / "models"
    pull(models, registry, first)
    pull(models, registry, second)

    result = run_cli("rm", short_name(first), models=models, registry=registry)
    assert result.returncode == 0, result.stderr
    freed = sum(b.size for b in only_first)
    assert result.stdout.splitlines() == [
        f"deleted '{display_name(first)}'",
        f"freed {ollama_bytes(freed)} ({freed} bytes, {len(only_first)} blobs)",
    ]
    blobs = models / "blobs"
    for blob in only_first:
        assert not (blobs / blob.file_name).exists()
    for blob in second.blobs:
        assert sha256_file(blobs / blob.file_name) == blob.digest
    assert not manifest_file(models, first).parent.exists(), "empty model directory left"
    assert manifest_file(models, second).read_bytes() == second.manifest_bytes
    assert run_cli("verify", models=models).returncode == 0

    last = run_cli("rm", short_name(second), models=models, registry=registry)
    assert last.returncode == 0, last.stderr
    assert last.stdout.splitlines()[-1].startswith(
        f"freed {ollama_bytes(second.total_size)} ({second.total_size} bytes, "
    )
    assert not any(blobs.iterdir())
    assert not any((models / "manifests").iterdir())


def test_rm_dry_run_and_unknown_names_change_nothing(
    registry: RegistryServer, unique_repo: str, tmp_path: Path
) -> None:
    model = push_small_model(registry, unique_repo, "latest", seed=42)
    models = tmp_path / "models"
    pull(models, registry, model)
    before = tree(models)

    dry = run_cli("rm", short_name(model), "--dry-run", models=models, registry=registry)
    assert dry.returncode == 0, dry.stderr
    assert dry.stdout.splitlines() == [
        f"would delete '{display_name(model)}'",
        f"would free {ollama_bytes(model.total_size)} ({model.total_size} bytes, "
        f"{len(model.blobs)} blobs)",
    ]
    assert tree(models) == before

    # One unknown name among known ones: nothing at all is removed.
    mixed = run_cli("rm", short_name(model), "not-installed", models=models, registry=registry)
    assert "not-installed" in assert_one_error_line(mixed)
    assert mixed.stdout == ""
    assert tree(models) == before


def test_prune_removes_orphaned_blob_and_stale_partial_only(
    registry: RegistryServer, unique_repo: str, tmp_path: Path
) -> None:
    model = push_small_model(registry, unique_repo, "latest", seed=43)
    models = tmp_path / "models"
    pull(models, registry, model)
    blobs = models / "blobs"
    orphan_data = os.urandom(300_000)
    orphan = blobs / ("sha256-" + hashlib.sha256(orphan_data).hexdigest())
    orphan.write_bytes(orphan_data)
    stale_hex = hashlib.sha256(b"stale").hexdigest()
    stale = blobs / f"sha256-{stale_hex}-partial"
    stale.write_bytes(os.urandom(200_000))
    stale_state = blobs / f"sha256-{stale_hex}-partial-0"
    stale_state.write_text('{"N":0,"Offset":0,"Size":400000,"Completed":200000}')
    two_hours_ago = time.time() - 7200
    for path in (stale, stale_state):
        os.utime(path, (two_hours_ago, two_hours_ago))
    # A recent partial may be a download in progress elsewhere: prune leaves it alone.
    fresh = blobs / f"sha256-{hashlib.sha256(b'fresh').hexdigest()}-partial"
    fresh.write_bytes(b"x" * 1000)
    before = tree(models)

    dry = run_cli("prune", "--dry-run", models=models)
    assert dry.returncode == 0, dry.stderr
    assert f"would remove orphaned blob {orphan.name}" in dry.stdout
    assert f"would remove stale partial {stale.name}" in dry.stdout
    assert dry.stdout.splitlines()[-1].startswith("would free ")
    assert tree(models) == before

    result = run_cli("prune", models=models)
    assert result.returncode == 0, result.stderr
    assert f"removed orphaned blob {orphan.name}" in result.stdout
    assert f"removed stale partial {stale.name}" in result.stdout
    freed_line = result.stdout.splitlines()[-1]
    freed = int(freed_line.split("(", 1)[1].split(" bytes", 1)[0])
    assert freed >= len(orphan_data) + 200_000, freed_line
    assert not orphan.exists() and not stale.exists() and not stale_state.exists()
    assert fresh.exists()
    for blob in model.blobs:
        assert (blobs / blob.file_name).exists()
    assert run_cli("verify", models=models).returncode == 0

    again = run_cli("prune", models=models)
    assert again.stdout.splitlines()[-1] == "freed 0 B (0 bytes, nothing to prune)"


# -- verify ------------------------------------------------------------------------------------


def test_verify_passes_then_names_a_corrupted_blob(
    registry: RegistryServer, unique_repo: str, tmp_path: Path
) -> None:
    model = push_small_model(registry, unique_repo, "latest", seed=51)
    models = tmp_path / "models"
    pull(models, registry, model)

    ok = run_cli("verify", models=models)
    assert ok.returncode == 0, ok.stderr
    assert ok.stdout.split()[:2] == ["ok", display_name(model)]
    assert ok.stderr == ""

    weights = model.layer("model")
    flip_byte(models / "blobs" / weights.file_name)
    bad = run_cli("verify", short_name(model), models=models, registry=registry)
    line = assert_one_error_line(bad)
    assert display_name(model) in line
    assert f"FAILED  {display_name(model)}  blob {weights.digest} (model): digest:" in bad.stdout

    report = run_cli("verify", "--json", models=models)
    assert report.returncode == 1
    doc = json.loads(report.stdout)
    assert doc["ok"] is False
    (entry,) = doc["models"]
    assert entry["name"] == display_name(model) and entry["ok"] is False
    assert [(p["digest"], p["kind"]) for p in entry["problems"]] == [(weights.digest, "digest")]

    (models / "blobs" / model.layer("license").file_name).unlink()
    missing = run_cli("verify", "--json", models=models)
    kinds = {p["kind"] for p in json.loads(missing.stdout)["models"][0]["problems"]}
    assert kinds == {"digest", "missing"}


# -- bad input ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "argv",
    [
        ["pull", "../x"],
        ["pull", "../x", "--json"],
        ["pull", "/etc/passwd"],
        ["pull", "a/b/c/d"],
        ["show", "../../x"],
        ["rm", "ok-name", "..\\x"],
        ["verify", "x:../y"],
        ["pull", "ok-name", "--registry", "../evil"],
    ],
)
def test_invalid_names_are_one_error_line_and_touch_nothing(
    argv: list[str], tmp_path: Path
) -> None:
    cwd = tmp_path / "cwd"
    cwd.mkdir()
    models = tmp_path / "models"
    result = run_cli(*argv, models=models, cwd=cwd)
    status = 2 if "--registry" in argv else 1
    assert_one_error_line(result, status)
    if "--json" in argv:
        assert set(json_lines(result.stdout)[-1]) == {"error"}
    assert sorted(p.name for p in tmp_path.iterdir()) == ["cwd"]
    assert not any(cwd.iterdir())


def test_a_models_path_that_is_a_file_is_refused(tmp_path: Path) -> None:
    not_a_dir = tmp_path / "models"
    not_a_dir.write_text("keep me")
    for argv in (["list"], ["pull", "x"], ["prune"], ["rm", "x"], ["verify"]):
        result = run_cli(*argv, models=not_a_dir)
        assert "is not a directory" in assert_one_error_line(result), argv
    assert not_a_dir.read_text() == "keep me"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["models"]


def test_usage_errors_exit_2_on_one_line(tmp_path: Path) -> None:
    for argv in (["frobnicate"], ["pull"], ["pull", "x", "--max-rate", "fast"], ["list", "--x"]):
        result = run_cli(*argv, models=tmp_path / "models")
        assert_one_error_line(result, 2)
    assert not (tmp_path / "models").exists()


def test_importing_the_cli_does_not_load_pygame() -> None:
    code = "import sys, ecs_models.cli; print(sorted(m for m in sys.modules if 'pygame' in m))"
    result = subprocess.run([PYTHON, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "[]"


# -- formatting --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2000000", 2_000_000.0),
        ("500k", 500_000.0),
        ("10M", 10_000_000.0),
        ("1.5MB", 1_500_000.0),
        ("2mb/s", 2_000_000.0),
        ("8MiB", 8 * 1024 * 1024.0),
        ("1G", 1e9),
    ],
)
def test_max_rate_accepts_suffixes(text: str, expected: float) -> None:
    assert parse_rate(text) == expected


@pytest.mark.parametrize(
    ("size", "expected"),
    [
        (999, "999 B"),
        (85_000_000, "85 MB"),
        (85_900_000, "85 MB"),
        (4_700_000_000, "4.7 GB"),
        (2_019_393_189, "2.0 GB"),
        (1_000_000_000, "1 GB"),
        (274_302_450, "274 MB"),
    ],
)
def test_sizes_print_as_ollama_prints_them(size: int, expected: str) -> None:
    assert ollama_bytes(size) == expected


@pytest.mark.parametrize(
    ("seconds", "expected"),
    [
        (0.4, "Less than a second"),
        (30, "30 seconds"),
        (90, "About a minute"),
        (3600, "About an hour"),
        (2 * 86400, "2 days"),
        (20 * 86400, "2 weeks"),
        (90 * 86400, "3 months"),
    ],
)
def test_modified_column_reads_like_ollama(seconds: float, expected: str) -> None:
    assert human_duration(seconds) == expected
