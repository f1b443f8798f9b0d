"""The project's import structure, read from the code (every import, module-level or inside a
function): the entry point is reached by nobody but bench/ and tests, and no two top-level
packages import each other, directly or round a longer loop."""

import ast
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
PACKAGES = sorted(p.parent.name for p in REPO.glob("*/__init__.py")) + ["bench"]


def imports_of(path: Path) -> set[str]:
    """The top-level project packages a file imports."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.add(node.module.split(".")[0])
    return found & set(PACKAGES)


def package_graph() -> dict[str, dict[str, list[str]]]:
    """package -> imported package -> the files that import it."""
    graph: dict[str, dict[str, list[str]]] = {p: {} for p in PACKAGES}
    for package in PACKAGES:
        for path in sorted((REPO / package).rglob("*.py")):
            for other in imports_of(path) - {package}:
                graph[package].setdefault(other, []).append(str(path.relative_to(REPO)))
    return graph


def test_nothing_but_bench_and_tests_imports_the_launcher():
    reaching = {pkg: files for pkg, edges in package_graph().items() if pkg != "bench"
                for other, files in edges.items() if other == "launcher"}
    assert not reaching, f"import core/ instead of launcher/ from: {reaching}"


def test_no_import_cycle_between_top_level_packages():
    graph = package_graph()

    def path_back(start: str, node: str, seen: tuple[str, ...]):
        for nxt in graph[node]:
            if nxt == start:
                return [*seen, nxt]
            if nxt not in seen:
                found = path_back(start, nxt, (*seen, nxt))
                if found:
                    return found
        return None

    for package in PACKAGES:
        loop = path_back(package, package, (package,))
        if loop:
            ties = [f"{a} -> {b} ({', '.join(graph[a][b])})" for a, b in zip(loop, loop[1:])]
            raise AssertionError("import cycle: " + "; ".join(ties))


def test_the_core_imports_no_other_project_package():
    assert package_graph()["core"] == {}


def extension_packages() -> list[str]:
    """The option packages the launcher wires (launcher/extensions.py's EXTENSIONS, in the order of
    configs/grpo_trainer.yaml)."""
    from launcher.extensions import EXTENSIONS

    return [module.__name__.split(".")[0] for module in EXTENSIONS]


def env_reads(path: Path) -> set[str]:
    """The environment variables a file reads: os.environ.get("X"), os.environ["X"], os.getenv("X"),
    the same through a module constant NAME = "X", and a read by a loop over a module-level dict
    ENV = {key: "X", ...} (every value counts). A read of anything else is None: undeclarable."""
    tree = ast.parse(path.read_text(), str(path))
    assigns = [(t.id, node.value) for node in ast.walk(tree) if isinstance(node, ast.Assign)
               for t in node.targets if isinstance(t, ast.Name)]
    constants = {n: v.value for n, v in assigns if isinstance(v, ast.Constant) and isinstance(v.value, str)}
    env_dicts = [{v.value for v in value.values if isinstance(v, ast.Constant)} for n, value in assigns
                 if isinstance(value, ast.Dict) and (n == "ENV" or n.endswith("_ENV"))]

    def names(arg) -> set:
        if isinstance(arg, ast.Constant) and isinstance(arg.value, str):
            return {arg.value}
        if isinstance(arg, ast.Name) and arg.id in constants:
            return {constants[arg.id]}
        return set().union(*env_dicts) if env_dicts else {None}

    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and node.args and ast.unparse(node.func) in ("os.environ.get", "os.getenv"):
            found |= names(node.args[0])
        elif isinstance(node, ast.Subscript) and ast.unparse(node.value) == "os.environ":
            found |= names(node.slice)
    return found


def test_every_environment_variable_an_extension_reads_is_declared_in_its_settings():
    import importlib

    assert extension_packages() == ["grpo_ext", "adagrpo_ext"]
    for package in extension_packages():
        declared = {var.name for var in importlib.import_module(f"{package}.settings").ENV_VARS}
        read = {f"{path.name}: {var}" for path in (REPO / package).rglob("*.py") for var in env_reads(path)
                if var not in declared}
        assert not read, f"{package} reads environment variables its settings.ENV_VARS does not declare: {read}"


def test_option_packages_import_each_other_only_where_declared():
    import importlib

    graph = package_graph()
    for package in extension_packages():
        uses = importlib.import_module(f"{package}.settings").USES
        others = {other: files for other, files in graph[package].items() if other in extension_packages()}
        undeclared = {other: files for other, files in others.items() if other not in uses}
        assert not undeclared, f"{package} imports {undeclared} without declaring it in {package}/settings.py USES"
        assert set(uses) <= set(others), f"{package}/settings.py USES {set(uses) - set(others)}, which it no longer imports"


def test_the_generic_hooks_know_no_extension():
    """trainer_hooks (the sampler every run uses, the graceful stop) reach an extension only through
    configuration (sampler_kwargs.batch_step), never by import."""
    graph = package_graph()
    assert not {other for other in graph["trainer_hooks"] if other in extension_packages()}, graph["trainer_hooks"]


def test_the_sampler_s_batch_step_is_configured_and_loads():
    import sys

    sys.path.insert(0, str(REPO))
    from core.config import compose
    from trainer_hooks.replay_buffer import batch_step

    kwargs = dict(compose(["grpo_ext.length_norm.enable=true"]).trainer.v1.sampler.sampler_kwargs)
    assert kwargs["batch_step"] == "grpo_ext.batch_step:for_sampler" and callable(batch_step(kwargs))
    assert batch_step(dict(compose([]).trainer.v1.sampler.sampler_kwargs)) is None  # no option on: no step


def test_an_extension_is_its_folder_and_one_entry_in_the_trainer_config():
    """Adding an extension (docs/extending.md) is its folder plus its name in configs/grpo_trainer.yaml
    (on Hydra's search path, its block in `defaults`); the launcher, the verl plugins and the package
    data follow from that list. A folder left out of it, or half listed, is named here."""
    import tomllib

    import yaml
    from setuptools import find_packages

    packages = extension_packages()
    trainer = yaml.safe_load((REPO / "configs" / "grpo_trainer.yaml").read_text())
    blocks = [d for d in trainer["defaults"] if isinstance(d, str)]
    project = tomllib.loads((REPO / "pyproject.toml").read_text())
    find = project["tool"]["setuptools"]["packages"]["find"]
    installed = find_packages(str(REPO), include=find["include"], exclude=find["exclude"])
    for folder in sorted(p.parent for p in REPO.glob("*/launch.py")):
        assert folder.name in packages, f"{folder.name}/ has a launch.py but configs/grpo_trainer.yaml does not list it"
    for package in packages:
        folder = REPO / package
        yaml_files = [p.stem for p in folder.glob("*.yaml") if p.stem != "agent_loops"]
        assert any(stem in blocks for stem in yaml_files), f"configs/grpo_trainer.yaml: defaults lack {package}'s block"
        assert package in installed, f"pyproject.toml: packages.find leaves out {package}"
        for module in ("settings", "launch", "verl_plugin"):
            assert (folder / f"{module}.py").is_file(), f"{package}/{module}.py is missing"
    assert project["tool"]["setuptools"]["package-data"]["*"] == ["*.yaml"]  # every package's blocks
    plugins = project["project"]["entry-points"]["verl.plugins"].values()
    assert "trainer_hooks.verl_plugin" in plugins  # it imports each extension's verl_plugin
    assert not [p for p in plugins if p.split(".")[0] in packages], "an extension needs no entry point of its own"


def test_what_an_extension_offers_grpo_ext_is_what_grpo_ext_needs():
    """grpo_ext accepts another extension's engine and sampler by what that extension's settings
    offer (PROVIDES), without naming it: each offered engine must include grpo_ext's micro-batch
    context (its losses read per-sample fields through it), each sampler must run trainer_hooks'
    batch step."""
    import importlib

    from verl.workers.engine.base import EngineRegistry

    from core.extensions import provided
    from grpo_ext.engine import MicroBatchContext
    from grpo_ext.settings import ENGINE_CAPABILITY, SAMPLER_CAPABILITY
    from trainer_hooks.replay_buffer import QuickPollReplayBuffer

    vendors, samplers = provided(ENGINE_CAPABILITY), provided(SAMPLER_CAPABILITY)
    assert "grpo_ext" in vendors and "adagrpo" in vendors and len(samplers) == 2
    for package in extension_packages():
        for path in (REPO / package).glob("*engine.py"):
            importlib.import_module(f"{package}.{path.stem}")
    registered = EngineRegistry._engines["language_model"]["fsdp2"]
    for vendor in vendors:
        assert issubclass(registered[("cuda", vendor)], MicroBatchContext), vendor
    for sampler in samplers:
        module, _, name = sampler.removeprefix("pkg://").partition(":")
        assert issubclass(getattr(importlib.import_module(module), name), QuickPollReplayBuffer), sampler
