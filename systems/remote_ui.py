"""Remote UI system: the Remote view's intents become requests; widgets follow the state."""

from __future__ import annotations

import time
from functools import partial

import esper

from ecs_models.app.config import ModelMetadata
from ecs_models.app.frame_state import InventoryState
from ecs_models.app.model_filter import search_texts
from ecs_models.app.resources import Resources
from ecs_models.app.schedule import System
from ecs_models.components.model import InstalledModelEntry
from ecs_models.components.remote import (
    HostAction,
    HostRequest,
    HostSurveyRequest,
    MirrorAction,
    MirrorRequest,
    RemoteCancelRequest,
    RemoteTransfer,
    RemoteTransferRequest,
    TransferKind,
)
from ecs_models.components.remote_state import RemoteState
from ecs_models.formatting import human_bytes, progress_text
from ecs_models.systems.captions import RowCaptions
from ecs_models.systems.remote import report_failure
from ecs_models.transfer.progress import PullState
from ecs_models.ui.remote import intents as ri
from ecs_models.ui.remote.mirrors import mirror_rows
from ecs_models.ui.remote.view import RemoteView
from ecs_models.ui.widgets.downloads import DownloadRowView


def transfer_caption(transfer: RemoteTransfer) -> str:
    """The text on a transfer's bar: '42 % 85.0 MB/s 0:12' while bytes move."""
    state, snap = transfer.state, transfer.snapshot
    if state is PullState.QUEUED:
        return "queued"
    if state is PullState.RESOLVING:
        return snap.status if snap is not None and snap.status else "resolving"
    if state is PullState.DOWNLOADING and snap is not None:
        return progress_text(snap.fraction, snap.bytes_per_second, snap.eta_seconds)
    if state is PullState.VERIFYING:
        return "verifying"
    if state is PullState.WRITING:
        return snap.status if snap is not None and snap.status else "writing"
    if state is PullState.DONE:
        return f"done, {human_bytes(snap.total if snap is not None else 0)}"
    if state is PullState.CANCELLED:
        return "cancelled (resumable)"
    return "failed: " + (transfer.error or "unknown error")


def model_item(model: ModelMetadata) -> tuple[str, str]:
    return (f"{model.display}   {human_bytes(model.size)}", model.name)


class RemoteUISystem(System):
    """The only system touching the Remote view; it syncs widgets only while they are shown."""

    def __init__(self, resources: Resources, view: RemoteView) -> None:
        super().__init__()
        self.view = view
        self.state = resources.get(RemoteState)
        self.inventory = resources.get(InventoryState)
        self._shown_inventory = -1
        self._shown_state = -1
        self._captions = RowCaptions()

    def process(self, dt: float) -> None:
        for intent in self.view.drain_intents():
            self._apply(intent)
        self.state.visible = bool(self.view.visible)
        if not self.state.visible:
            return  # hidden widgets are not updated; everything is synced when shown again
        if self.inventory.version != self._shown_inventory:
            self._shown_inventory = self.inventory.version
            models = sorted(
                (entry.metadata for _, entry in esper.get_component(InstalledModelEntry)),
                key=lambda m: m.display,
            )
            self.view.show_models([model_item(m) for m in models], search_texts(models))
        if self.state.version != self._shown_state:
            self._shown_state = self.state.version
            self.view.show_recent(self.state.recent)
            self.view.show_hosts(self.state.hosts, self.state.statuses)
            state = self.state
            self.view.show_mirrors(
                mirror_rows(state.mirrors, state.mirror_probes, testing=state.mirrors_testing)
            )
            text, error = self.state.result
            self.view.show_result(text, error=error)
        self._sync_host_question()
        self._sync_transfers()

    def _sync_host_question(self) -> None:
        host = self.state.pending_host_removal
        if host is not None and host not in self.state.hosts:
            host = self.state.pending_host_removal = None  # it went meanwhile
        text = f"Remove {host} from the hosts list? Its models stay on that host." if host else ""
        self.view.show_host_question(host, text)

    def _apply(self, intent: ri.RemoteIntent) -> None:
        if isinstance(intent, ri.PushPressed):
            if intent.model_name is None:
                report_failure(self.state, "Pick an installed model in the list to push.")
                return
            esper.create_entity(
                RemoteTransferRequest(TransferKind.PUSH, intent.model_name, intent.dest)
            )
        elif isinstance(intent, ri.MirrorPressed):
            esper.create_entity(
                RemoteTransferRequest(TransferKind.MIRROR, intent.source, intent.dest)
            )
        elif isinstance(intent, ri.TransferButtonPressed):
            esper.create_entity(RemoteCancelRequest(intent.transfer_entity))
        elif isinstance(intent, ri.RefreshPressed):
            esper.create_entity(HostSurveyRequest())
        elif isinstance(intent, ri.AddHostPressed):
            esper.create_entity(HostRequest(HostAction.ADD, intent.address))
            self.view.clear_address()
        elif isinstance(intent, ri.RemoveHostPressed):
            self.state.pending_host_removal = intent.address  # asked by its row's button
        elif isinstance(intent, ri.HostRemovalAnswered):
            host, self.state.pending_host_removal = self.state.pending_host_removal, None
            if host is not None and intent.confirmed:
                esper.create_entity(HostRequest(HostAction.REMOVE, host))
        elif isinstance(intent, ri.HostPullPressed | ri.HostDeletePressed):
            if intent.host is None:
                report_failure(
                    self.state, "Add an Ollama host first, then pick it in the host menu."
                )
                return
            if isinstance(intent, ri.HostPullPressed):
                esper.create_entity(
                    RemoteTransferRequest(TransferKind.HOST_PULL, intent.model, intent.host)
                )
            else:
                esper.create_entity(HostRequest(HostAction.DELETE_MODEL, intent.host, intent.model))
        elif isinstance(intent, ri.MirrorAddPressed):
            esper.create_entity(MirrorRequest(MirrorAction.ADD, text=intent.text))
            self.view.clear_mirror_entry()
        elif isinstance(intent, ri.MirrorRemovePressed):
            if intent.picked is None:
                report_failure(self.state, "Pick a mirror in the list to remove.")
                return
            upstream, url = intent.picked
            esper.create_entity(MirrorRequest(MirrorAction.REMOVE, upstream=upstream, url=url))
        elif isinstance(intent, ri.MirrorsTestPressed):
            esper.create_entity(MirrorRequest(MirrorAction.TEST))

    def _sync_transfers(self) -> None:
        now = time.monotonic()
        transfers = sorted(esper.get_component(RemoteTransfer), key=lambda pair: pair[0])
        rows = []
        for ent, transfer in transfers:
            caption, fraction, _ = self._captions.read(
                ent, transfer.state, transfer.fraction, partial(transfer_caption, transfer), now
            )
            action = "Dismiss" if transfer.state.finished else "Cancel"
            detail = (transfer.error or "") if transfer.state is PullState.FAILED else ""
            rows.append(DownloadRowView(ent, transfer.label, fraction, caption, (action,), detail))
        self._captions.keep([ent for ent, _ in transfers])
        self.view.show_transfers(rows)
