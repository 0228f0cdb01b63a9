"""Every action and subject the code records has a label, read from the code itself.

The test follows each `record_event(...)` in the portal back to the strings it can be
given: literals, both sides of `a if c else b`, a helper's parameter (to the literals its
callers pass, and its default), a module's dict of actions, and `kind.approved_action`
style attributes (to every class that sets one). An argument it cannot follow fails the
test, so a new way of naming actions is noticed rather than silently unlabelled.
"""

import ast
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from portal.audit.labels import (
    ACTION_GROUP_LABELS,
    ACTION_LABELS,
    SUBJECT_TYPE_LABELS,
    action_group,
    action_label,
    detail_items,
    detail_text,
)

PORTAL = Path(__file__).resolve().parents[2] / "portal"
RECORDER = "record_event"


@dataclass
class Module:
    path: Path
    tree: ast.Module
    parents: dict[ast.AST, ast.AST] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for node in ast.walk(self.tree):
            for child in ast.iter_child_nodes(node):
                self.parents[child] = node

    def enclosing_function(self, node: ast.AST) -> ast.FunctionDef | None:
        while node in self.parents:
            node = self.parents[node]
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                return node
        return None

    def where(self, node: ast.AST) -> str:
        return f"{self.path.relative_to(PORTAL.parent)}:{node.lineno}"


def _modules() -> list[Module]:
    return [Module(path, ast.parse(path.read_text("utf-8"))) for path in PORTAL.rglob("*.py")]


def _class_attributes(modules: list[Module], name: str) -> list[tuple[Module, ast.expr]]:
    """Every `name = value` in a class body, anywhere in the portal."""
    found = []
    for module in modules:
        for node in ast.walk(module.tree):
            if isinstance(node, ast.ClassDef):
                for statement in node.body:
                    if isinstance(statement, ast.Assign) and any(
                        isinstance(target, ast.Name) and target.id == name
                        for target in statement.targets
                    ):
                        found.append((module, statement.value))
    return found


def _module_value(module: Module, name: str) -> ast.expr | None:
    for statement in module.tree.body:
        if isinstance(statement, ast.Assign) and any(
            isinstance(target, ast.Name) and target.id == name for target in statement.targets
        ):
            return statement.value
    return None


class Resolver:
    """The strings an expression in the portal's code can hold."""

    def __init__(self, modules: list[Module]) -> None:
        self.modules = modules
        self.unresolved: list[str] = []

    def strings(self, module: Module, node: ast.expr) -> set[str]:
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            return {node.value}
        if isinstance(node, ast.IfExp):
            return self.strings(module, node.body) | self.strings(module, node.orelse)
        if isinstance(node, ast.Attribute):
            values = _class_attributes(self.modules, node.attr)
            if values:
                return set().union(*(self.strings(m, value) for m, value in values))
        if isinstance(node, ast.Subscript) and isinstance(node.value, ast.Name):
            table = _module_value(module, node.value.id)
            if isinstance(table, ast.Dict):
                return set().union(*(self.strings(module, value) for value in table.values))
        if isinstance(node, ast.Name):
            function = module.enclosing_function(node)
            if function is not None and node.id in _parameter_names(function):
                return self.parameter(module, function, node.id)
            value = _module_value(module, node.id)
            if value is not None:
                return self.strings(module, value)
        self.unresolved.append(f"{module.where(node)}: {ast.unparse(node)}")
        return set()

    def parameter(self, module: Module, function: ast.FunctionDef, name: str) -> set[str]:
        """What callers in the same module pass for a helper's parameter, and its default."""
        names = _parameter_names(function)
        index = names.index(name)
        found = set()
        defaults = function.args.defaults
        first_default = len(names) - len(defaults)
        if index >= first_default:
            found |= self.strings(module, defaults[index - first_default])
        for call in ast.walk(module.tree):
            if isinstance(call, ast.Call) and _called_name(call) == function.name:
                given = _argument(call, index, name)
                if given is not None:
                    found |= self.strings(module, given)
        return found


def _parameter_names(function: ast.FunctionDef) -> list[str]:
    return [argument.arg for argument in function.args.posonlyargs + function.args.args]


def _called_name(call: ast.Call) -> str | None:
    if isinstance(call.func, ast.Name):
        return call.func.id
    if isinstance(call.func, ast.Attribute):
        return call.func.attr
    return None


def _argument(call: ast.Call, index: int, name: str) -> ast.expr | None:
    if index < len(call.args):
        return call.args[index]
    return next((kw.value for kw in call.keywords if kw.arg == name), None)


def _recorded(keyword: str, position: int | None) -> tuple[set[str], list[str]]:
    modules = _modules()
    resolver = Resolver(modules)
    values: set[str] = set()
    for module in modules:
        for call in ast.walk(module.tree):
            if isinstance(call, ast.Call) and _called_name(call) == RECORDER:
                argument = _argument(call, position, keyword) if position is not None else None
                argument = argument or next(
                    (kw.value for kw in call.keywords if kw.arg == keyword), None
                )
                assert argument is not None, f"{module.where(call)}: no {keyword}"
                values |= resolver.strings(module, argument)
    return values, resolver.unresolved


def test_every_recorded_action_has_a_label():
    actions, unresolved = _recorded("action", 0)
    assert not unresolved, f"actions the test cannot follow: {unresolved}"
    assert {"application.submitted", "login.failed", "subsystem_request.revoked"} <= actions
    assert sorted(actions - ACTION_LABELS.keys()) == []


def test_every_recorded_subject_type_has_a_label():
    subject_types, unresolved = _recorded("subject_type", None)
    assert not unresolved, f"subject types the test cannot follow: {unresolved}"
    assert {"account", "application", "manager_change"} <= subject_types
    assert sorted(subject_types - SUBJECT_TYPE_LABELS.keys()) == []


def test_every_labelled_action_belongs_to_a_labelled_group():
    assert {action_group(action) for action in ACTION_LABELS} <= ACTION_GROUP_LABELS.keys()


@pytest.fixture
def _zh(app):
    with app.test_request_context():
        yield


@pytest.mark.usefixtures("_zh")
def test_labels_and_the_code_for_an_action_no_table_knows():
    assert action_label("verification.paper_approved") == "帳號申請紙本審核通過"
    assert action_label("something.retired") == "something.retired"


@pytest.mark.usefixtures("_zh")
def test_detail_as_a_readable_list_and_as_one_line():
    detail = {
        "before": {"role": "portal_admin", "subsystems": [], "active": True},
        "after": {"role": "help_desk", "subsystems": ["cessation"], "active": False},
        "reason": "印章不清楚",
        "custom_key": 3,
    }
    items = detail_items(detail)
    assert [item.label for item in items] == ["變更前", "變更後", "原因", "custom_key"]
    before = {item.label: item.value for item in items[0].items}
    assert before == {"角色": "入口網管理者", "子系統": "—", "帳號使用中": "是"}
    assert items[2].value == "印章不清楚" and items[3].value == "3"
    assert detail_text({"reason": "x", "subsystems": ["a", "b"]}) == "原因：x；子系統：a、b"


@pytest.mark.usefixtures("_zh")
def test_what_the_crls_said_of_a_card_in_words():
    items = detail_items({"certificate_serial": "1A2B", "revocation": "unknown"})
    assert [(item.label, item.value) for item in items] == [
        ("憑證序號", "1A2B"),
        ("憑證廢止檢查", "未檢查（沒有現行的廢止清冊）"),
    ]
    assert detail_text({"revocation": "good"}) == "憑證廢止檢查：未被廢止（依現行的廢止清冊）"
