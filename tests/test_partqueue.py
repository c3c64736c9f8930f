"""The range scheduler on real `-partial-N` files: steals cut by rate, races counted once."""

from __future__ import annotations

from pathlib import Path

from support.ollama_resume import prepare

from ecs_models.transfer.partial import Part, load_parts, plan_parts
from ecs_models.transfer.partqueue import LinkEstimate, PartQueue
from ecs_models.transfer.streamrate import StreamMeter

MB = 1_000_000
TOTAL = 64 * MB


def meter_at(rate: float) -> StreamMeter:
    """A stream that has received at `rate` bytes/s for the last second."""
    meter = StreamMeter(0.0)
    meter.received = int(rate)
    meter.sample(1.0)
    assert meter.rate == rate
    return meter


def queue_for(tmp_path: Path, parts: list[Part]) -> tuple[PartQueue, Path, list[int]]:
    partial = tmp_path / "sha256-abc-partial"
    advanced: list[int] = []
    return PartQueue(parts, partial, advanced.append), partial, advanced


def test_a_steal_leaves_the_faster_stream_more_and_stays_ollama_readable(tmp_path: Path) -> None:
    parts = plan_parts(TOTAL, part_size_min=TOTAL)  # one part, as Ollama plans a small blob
    queue, partial, _ = queue_for(tmp_path, parts)
    owner = queue.take(meter_at(3 * MB), prefer=None, from_end=False)
    assert owner is not None
    link = LinkEstimate(stream_rate=2 * MB, latency=0.0, min_split_bytes=MB)

    stolen = queue.steal(meter_at(1 * MB), link)

    assert stolen is not None
    # Both should finish together: the owner (3 MB/s) keeps three quarters.
    assert owner.part.size == 48 * MB - (48 * MB) % 4096
    assert stolen.part.offset == owner.part.end and stolen.part.end == TOTAL
    on_disk = prepare(tmp_path / "sha256-abc")
    assert sorted(p.n for p in on_disk) == [0, 1]
    assert sum(p.size for p in on_disk) == TOTAL
    assert load_parts(partial, TOTAL) == sorted(parts, key=lambda p: p.offset)


def test_a_range_too_short_to_pay_for_a_request_is_not_split(tmp_path: Path) -> None:
    queue, _, _ = queue_for(tmp_path, [Part(0, 0, 3 * MB)])
    owner = queue.take(meter_at(10 * MB), prefer=None, from_end=False)
    assert owner is not None
    link = LinkEstimate(stream_rate=10 * MB, latency=0.0, min_split_bytes=MB)
    # 3 MB at 10 MB/s: a half would take 0.15 s, less than a request is worth.
    assert queue.steal(meter_at(10 * MB), link) is None
    assert queue.part_count == 1


def test_a_raced_range_counts_each_byte_once(tmp_path: Path) -> None:
    queue, _, advanced = queue_for(tmp_path, [Part(0, 0, 4 * MB)])
    owner = queue.take(meter_at(100_000), prefer=None, from_end=False)
    assert owner is not None
    queue.written(owner, MB)  # the slow owner got its first megabyte
    link = LinkEstimate(stream_rate=20 * MB, latency=0.05, min_split_bytes=2 * MB)
    assert queue.steal(meter_at(20 * MB), link) is None  # 3 MB left: too short to split

    racer = queue.race(meter_at(20 * MB), link)

    assert racer is not None and racer.racing and racer.position == MB
    queue.written(racer, 2 * MB)  # the racer runs ahead...
    queue.written(owner, MB)  # ...the owner's second megabyte is one the racer already has
    assert owner.part.completed == 3 * MB
    queue.written(racer, MB)
    assert owner.over and racer.over
    queue.written(owner, MB)  # the loser's last chunk lands too: still counted once
    assert sum(advanced) == 4 * MB == owner.part.size
    queue.release(racer)
    queue.release(owner)
    assert not queue and queue.frontier() == 4 * MB


def test_a_released_part_goes_back_and_is_taken_where_a_response_continues(
    tmp_path: Path,
) -> None:
    parts = [Part(0, 0, 2 * MB), Part(1, 2 * MB, 2 * MB), Part(2, 4 * MB, 2 * MB)]
    queue, _, _ = queue_for(tmp_path, parts)
    first = queue.take(meter_at(MB), prefer=None, from_end=False)
    last = queue.take(meter_at(MB), prefer=None, from_end=True)
    assert first is not None and last is not None
    assert (first.part.n, last.part.n) == (0, 2)
    queue.written(last, MB // 2)
    queue.release(last)  # retired halfway: the rest is unclaimed again
    assert queue.run_end(first, alone=True) == 4 * MB  # part 1 is untouched; part 2 is not

    resumed = queue.take(meter_at(MB), prefer=4 * MB + MB // 2, from_end=False)

    assert resumed is not None and resumed.part.n == 2 and resumed.position == 4 * MB + MB // 2
