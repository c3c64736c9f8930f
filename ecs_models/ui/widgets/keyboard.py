"""The keyboard layer every area shares: a Tab order, a visible focus ring, keys for each widget.

pygame_gui gives a text field the keys while it has focus and nothing else: Tab goes nowhere,
buttons, lists and drop-downs ignore the keyboard. Here, for the area on show:

- Tab / Shift+Tab move the focus through its widgets in reading order (top to bottom, left to
  right), wrapping; an open question (a confirmation box) keeps the focus inside itself;
- a ring is drawn around the focused widget once the keyboard moved the focus (a click hides it,
  as desktop toolkits do);
- Enter or Space press a button, toggle a check box, open or close a drop-down; Up/Down pick a
  drop-down's previous or next option;
- in a list, Up/Down/PageUp/PageDown/Home/End move the selection (Shift extends it in a
  multi-selection list), Ctrl+A selects all, Enter activates the row (as a double click does).

Views never need code for any of this: the order is read from their containers. Widgets post
the same pygame_gui events a mouse would, so the views' handlers need nothing new either.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

import pygame
import pygame_gui

from ecs_models.ui.widgets.virtual_list import MOVE_KEYS, VirtualList, row_after_key

RING_COLOUR = pygame.Color("#58a6ff")
RING_WIDTH = 2
RING_GAP = 2  # between the widget's edge and the ring
RING_LAYER = 40  # above every widget of the views, their questions and drop-downs
MODAL_ID = "#ecsm_confirm_box"  # a question: Tab stays inside it while it is open
_ENTER = (pygame.K_RETURN, pygame.K_KP_ENTER)
_CTRL = pygame.KMOD_CTRL | pygame.KMOD_META
FOCUSABLE = (
    pygame_gui.elements.UIButton,
    pygame_gui.elements.UITextEntryLine,
    pygame_gui.elements.UIDropDownMenu,
    pygame_gui.elements.UISelectionList,
    pygame_gui.elements.UICheckBox,
    VirtualList,
)


def typing_in_entry(manager: pygame_gui.UIManager) -> bool:
    """True while a text field has the keyboard (its keys are its own)."""
    focused = manager.get_focus_set() or set()
    return any(isinstance(e, pygame_gui.elements.UITextEntryLine) for e in focused)


def _children(container: Any) -> list[Any]:
    inner = container.get_container() if hasattr(container, "get_container") else container
    return list(getattr(inner, "elements", []))


def _walk(container: Any) -> Iterator[Any]:
    """Focusable widgets in `container`, looking inside plain panels (cards, questions)."""
    for element in _children(container):
        if not element.visible:
            continue
        if isinstance(element, FOCUSABLE):
            if element.is_enabled:
                yield element
        elif isinstance(
            element, pygame_gui.elements.UIPanel | pygame_gui.elements.UIScrollingContainer
        ):
            yield from _walk(element)  # cards, questions, the downloads list's rows


def _is_modal(element: Any) -> bool:
    return bool(element.visible) and MODAL_ID in getattr(element, "object_ids", ())


def _modal_in(container: Any) -> Any:
    for element in _children(container):
        if isinstance(element, pygame_gui.elements.UIPanel):
            if _is_modal(element):
                return element
            inner = _modal_in(element)
            if inner is not None:
                return inner
    return None


def reading_order(elements: Sequence[Any]) -> list[Any]:
    """Top to bottom, then left to right; widgets whose tops differ by a few pixels share a line."""
    ordered = sorted(elements, key=lambda e: (e.rect.top, e.rect.left))
    lines: list[list[Any]] = []
    for element in ordered:
        if lines and element.rect.top - lines[-1][0].rect.top <= 8:
            lines[-1].append(element)
        else:
            lines.append([element])
    return [e for line in lines for e in sorted(line, key=lambda e: e.rect.left)]


def focus_order(roots: Sequence[Any]) -> list[Any]:
    """The Tab order through `roots` (a tab strip, then the area on show), or through the open
    question of the last root when one is open."""
    if roots:
        modal = _modal_in(roots[-1])
        if modal is not None:
            return reading_order(list(_walk(modal)))
    order: list[Any] = []
    for root in roots:
        if isinstance(root, FOCUSABLE):  # a lone widget (a button outside any view)
            if root.visible and root.is_enabled:
                order.append(root)
        else:
            order.extend(reading_order(list(_walk(root))))
    return order


def focused_in(manager: pygame_gui.UIManager, order: Sequence[Any]) -> Any:
    """The widget of `order` that has pygame_gui's focus (a composite shares its focus set)."""
    focus_set = manager.get_focus_set()
    if not focus_set:
        return None
    for element in order:
        if element in focus_set:
            return element
    return None


def _focus_owner(focus_set: Any) -> Any:
    """The widget a focus set belongs to: a list shares its set with its scroll bar and the
    bar's buttons, whose parent chain leads back to the list."""
    for element in focus_set:
        if not isinstance(element, FOCUSABLE) or not element.visible:
            continue
        parent = getattr(element, "parent_element", None)
        while parent is not None and parent not in focus_set:
            parent = getattr(parent, "parent_element", None)
        if parent is None:
            return element
    return None


class FocusRing(pygame_gui.elements.UIImage):
    """An outline drawn around the focused widget; never hovered, so it blocks no click."""

    def __init__(self, manager: pygame_gui.UIManager) -> None:
        super().__init__(
            relative_rect=pygame.Rect(0, 0, 8, 8),
            image_surface=_outline((8, 8)),
            manager=manager,
            starting_height=RING_LAYER,
            visible=0,
        )

    def hover_point(self, hover_x: float, hover_y: float) -> bool:
        return False

    def surround(self, rect: pygame.Rect) -> None:
        wanted = rect.inflate(2 * (RING_GAP + RING_WIDTH), 2 * (RING_GAP + RING_WIDTH))
        if wanted.size != self.rect.size:
            self.set_dimensions(wanted.size)
            self.set_image(_outline(wanted.size))
        if wanted.topleft != self.rect.topleft:
            self.set_position(wanted.topleft)
        if not self.visible:
            self.show()  # type: ignore[no-untyped-call]


def _outline(size: tuple[int, int]) -> pygame.Surface:
    surface = pygame.Surface(size, flags=pygame.SRCALPHA)
    surface.fill((0, 0, 0, 0))
    pygame.draw.rect(surface, RING_COLOUR, surface.get_rect(), RING_WIDTH, border_radius=3)
    return surface


class KeyboardNavigator:
    """Moves the focus with Tab, draws the ring, and gives keys to the focused widget."""

    def __init__(self, manager: pygame_gui.UIManager) -> None:
        self.manager = manager
        self.ring = FocusRing(manager)
        self.target: Any = None  # the widget the ring is around, while it shows
        self._by_keyboard = False  # the last input was a key (not a click)

    # -- focus ----------------------------------------------------------------------------
    def focus(self, element: Any) -> None:
        """Give `element` the keyboard and show the ring around it."""
        self.manager.set_focus_set(element)
        self.target = element
        self.ring.surround(element.rect)

    def note_event(self, event: pygame.event.Event) -> None:
        """A click takes the focus where it lands: the ring goes until the keyboard is used."""
        if event.type == pygame.MOUSEBUTTONDOWN:
            self._by_keyboard = False
            self.hide_ring()
        elif event.type == pygame.KEYDOWN:
            self._by_keyboard = True

    def hide_ring(self) -> None:
        self.target = None
        if self.ring.visible:
            self.ring.hide()  # type: ignore[no-untyped-call]

    def update(self) -> None:
        """Once a frame: the ring follows its widget, and goes when the widget loses focus."""
        target = self.target
        focus_set = self.manager.get_focus_set() or set()
        if self._by_keyboard and (target is None or target not in focus_set):
            # A key moved the focus without Tab (Down from a filter into its list, a
            # question taking the keyboard): the ring follows it.
            moved = _focus_owner(focus_set)
            if moved is not None:
                self.target = target = moved
        if target is None:
            return
        if not target.alive() or not target.visible or target not in focus_set:
            self.hide_ring()
        else:
            self.ring.surround(target.rect)

    # -- keys -----------------------------------------------------------------------------
    def handle_key(self, event: pygame.event.Event, roots: Sequence[Any]) -> bool:
        """A KEYDOWN for the area whose containers are `roots`; True when it was used."""
        if event.type != pygame.KEYDOWN:
            return False
        if event.key == pygame.K_TAB and not event.mod & (_CTRL | pygame.KMOD_ALT):
            return self._tab(roots, backwards=bool(event.mod & pygame.KMOD_SHIFT))
        order = focus_order(roots)
        element = focused_in(self.manager, order)
        if element is None or isinstance(element, pygame_gui.elements.UITextEntryLine):
            return False
        if element is not self.target:
            self.target = element  # the keyboard is being used on it: show where
        used = self._widget_key(element, event)
        if used:
            self.ring.surround(element.rect)
        return used

    def _tab(self, roots: Sequence[Any], *, backwards: bool) -> bool:
        order = focus_order(roots)
        if not order:
            return False
        current = focused_in(self.manager, order)
        if current is None:
            target = order[-1] if backwards else order[0]
        else:
            step = -1 if backwards else 1
            target = order[(order.index(current) + step) % len(order)]
        self.focus(target)
        return True

    def _widget_key(self, element: Any, event: pygame.event.Event) -> bool:
        key, mods = event.key, event.mod
        activate = key in _ENTER or key == pygame.K_SPACE
        if isinstance(element, VirtualList):
            if key in _ENTER:
                return self._activate_virtual(element)
            moved = getattr(element, "key_move", None)
            return bool(moved(key, mods)) if moved is not None else False
        if isinstance(element, pygame_gui.elements.UISelectionList):
            if key in _ENTER:
                return _activate_plain_list(element)
            return _move_in_plain_list(element, key)
        if isinstance(element, pygame_gui.elements.UIDropDownMenu):
            if activate or key == pygame.K_ESCAPE:
                return _toggle_drop_down(element, opening=key != pygame.K_ESCAPE)
            if key in (pygame.K_UP, pygame.K_DOWN):
                return _step_drop_down(element, 1 if key == pygame.K_DOWN else -1)
            return False
        if isinstance(element, pygame_gui.elements.UICheckBox) and activate:
            element.set_state(not bool(element.get_state()))
            return True
        if isinstance(element, pygame_gui.elements.UIButton) and activate:
            # Exactly what a click posts (or, with a command, what it calls).
            element.on_self_event(pygame_gui.UI_BUTTON_PRESSED, {"mouse_button": 1})
            return True
        return False

    @staticmethod
    def _activate_virtual(element: VirtualList) -> bool:
        cursor = getattr(element, "cursor_text", None)
        text = cursor() if cursor is not None else None
        for index, item in enumerate(element.item_list):
            if item["text"] == text or (text is None and item["selected"]):
                element.activate_row(index)
                return True
        return False


# -- pygame_gui's own lists and drop-downs (Discover, Performance, Remote) ------------------
def _post(kind: int, element: Any, **data: Any) -> None:
    data.update(ui_element=element, ui_object_id=element.most_specific_combined_id)
    pygame.event.post(pygame.event.Event(kind, data))


def _move_in_plain_list(element: Any, key: int) -> bool:
    """Select the next/previous/first/last row of a single-selection pygame_gui list."""
    if key not in MOVE_KEYS:
        return False
    items = element.item_list
    if not items:
        return True
    current = next((i for i, item in enumerate(items) if item["selected"]), None)
    height = max(1, int(element.list_item_height))
    page = max(1, int(element.rect.height) // height - 1)
    target = row_after_key(key, current, len(items), page)
    for index, item in enumerate(items):
        item["selected"] = index == target
        button = item["button_element"]
        if button is not None:
            (button.select if index == target else button.unselect)()
    bar = element.scroll_bar
    if bar is not None:
        # Put the row in view; the list builds the buttons of rows scrolled in on its update.
        visible = bar.visible_percentage
        start = bar.start_percentage
        row_top = target / len(items)
        row_bottom = (target + 1) / len(items)
        if row_top < start:
            bar.set_scroll_from_start_percentage(row_top)
        elif row_bottom > start + visible:
            bar.set_scroll_from_start_percentage(row_bottom - visible)
        element.update(0.0)
    _post(pygame_gui.UI_SELECTION_LIST_NEW_SELECTION, element, text=items[target]["text"])
    return True


def _activate_plain_list(element: Any) -> bool:
    for item in element.item_list:
        if item["selected"]:
            _post(pygame_gui.UI_SELECTION_LIST_DOUBLE_CLICKED_SELECTION, element, text=item["text"])
            return True
    return False


def _toggle_drop_down(menu: Any, *, opening: bool) -> bool:
    expanded = menu.current_state is menu.menu_states["expanded"]
    if expanded == opening:
        return False
    menu.current_state.should_transition = True  # the menu switches state on its update
    return True


def _step_drop_down(menu: Any, step: int) -> bool:
    """Pick the option before or after the one shown, as a click in the open menu would."""
    if menu.current_state is menu.menu_states["expanded"]:
        return False  # the open menu's own list has the mouse
    options = list(menu.options_list)
    if not options:
        return False
    current = next((i for i, o in enumerate(options) if o == menu.selected_option), 0)
    target = max(0, min(len(options) - 1, current + step))
    if target == current:
        return True
    menu.selected_option = options[target]
    menu.rebuild()
    text, option_id = options[target]
    _post(pygame_gui.UI_DROP_DOWN_MENU_CHANGED, menu, text=text, selected_option_id=option_id)
    return True
