"""The asset tree: groups whose assets are added when first expanded, each line drawn from the status board."""

from __future__ import annotations

from collections.abc import Callable
from typing import ClassVar

from rich.style import Style
from rich.text import Text
from textual.widgets import Tree
from textual.widgets.tree import TreeNode

from tui.browser.tree_model import AssetNode, GroupNode, Now, StatusBoard, age_text, asset_label, group_label

TOGGLE = Style.from_meta({"toggle": True})
Data = AssetNode | GroupNode


class AssetTree(Tree[Data]):
    """The assets of the project by group, each with its status glyph, colour and age."""

    HELP = """
Assets by group: a status glyph (✓ fresh, ~ stale, ○ missing, ✗ failed, ▶ running, ◆ source), the name,
and how long ago it was last materialized. **/** filters with a selection such as `status:stale`.
"""
    ICONS: ClassVar[tuple[str, str]] = ("▸ ", "▾ ")

    def __init__(self, board: StatusBoard, now: Now, moved: Callable[[Data | None], None], *, id: str | None = None):
        super().__init__("assets", id=id)
        self.board = board
        self.now = now
        self.moved = moved  # told of the node under the cursor at once, so details are drawn in the same frame
        self.show_root = False
        self.guide_depth = 2
        self.groups: tuple[GroupNode, ...] = ()
        self._assets: dict[str, TreeNode[Data]] = {}  # the asset nodes added so far
        self._counts: dict[int, Text] = {}  # group labels, until statuses change

    def show_groups(self, groups: tuple[GroupNode, ...], expand: bool = False) -> None:
        """Show these groups (collapsed, their assets not added until opened, unless ``expand``)."""
        self.clear()
        self.groups = groups
        self._assets.clear()
        self._counts.clear()
        for group in groups:
            node = self.root.add(Text(group.label), data=group)  # text, not markup
            if expand:
                self._load(node)
                node.expand()

    def select_asset(self, name: str) -> bool:
        """Open the asset's group (and page) and move the cursor to it; False when it is not shown."""
        node = self._assets.get(name)
        if node is None:
            node = self._reveal(name)
        if node is None:
            return False
        parent = node.parent
        while parent is not None and not parent.is_root:
            parent.expand()
            parent = parent.parent
        self._tree_lines  # noqa: B018  (rebuilds the lines, so that the node knows its line)
        self.move_cursor(node)
        self.scroll_to_node(node, animate=False)
        return True

    def shown_assets(self) -> list[str]:
        """Every asset the tree holds (loaded or not), in tree order."""
        return [name for group in self.groups for name in group.assets]

    def refresh_statuses(self, names: list[str] | None = None) -> None:
        """Redraw after statuses changed: the lines of ``names`` and the group lines, or every line."""
        self._counts.clear()
        if names is None:
            for group_node in self.root.children:
                group_node.refresh()  # a new version of a node redraws it and every line below it
            self.refresh()
            return
        for name in names:
            node = self._assets.get(name)
            if node is not None:
                node.refresh()
        for group_node in self.root.children:
            group_node.refresh()

    def _reveal(self, name: str) -> TreeNode[Data] | None:
        for group_node in self.root.children:
            group = group_node.data
            if isinstance(group, GroupNode) and name in group.assets:
                self._load(group_node)
                for page in group_node.children:
                    if isinstance(page.data, GroupNode) and name in page.data.assets:
                        self._load(page)
                return self._assets.get(name)
        return None

    def _load(self, node: TreeNode[Data]) -> None:
        group = node.data
        if node.children or not isinstance(group, GroupNode):
            return
        if group.pages:
            for page in group.pages:
                node.add(Text(page.label), data=page)
            return
        for name in group.assets:
            self._assets[name] = node.add_leaf(name, data=AssetNode(name))

    def on_tree_node_expanded(self, event: Tree.NodeExpanded[Data]) -> None:
        self._load(event.node)

    def watch_cursor_line(self, previous_line: int, line: int) -> None:
        super().watch_cursor_line(previous_line, line)
        if previous_line != line and self.is_mounted:
            node = self.cursor_node
            self.moved(node.data if node is not None else None)

    def render_label(self, node: TreeNode[Data], base_style: Style, style: Style) -> Text:
        data = node.data
        if isinstance(data, AssetNode):
            age = age_text(self.board.materialized_at.get(data.name), self.now())
            label = asset_label(data.name, self.board.badge(data.name), age)
        elif isinstance(data, GroupNode):
            label = self._counts.get(id(data)) or self._counts.setdefault(
                id(data), group_label(data.label, self.board.counts(data.assets)))
            label = label.copy()
        else:
            return super().render_label(node, base_style, style)
        label.stylize(style)
        if not node.allow_expand:
            return label
        icon = self.ICONS[1] if node.is_expanded else self.ICONS[0]
        return Text.assemble((icon, base_style + TOGGLE), label)
